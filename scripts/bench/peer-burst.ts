/** Peers with N jobs due on one boundary: how long the last run waits. */
import { waitFor } from "../../tests/support/wait-for.ts";
import type { Period } from "./jobs.ts";
import { recordBurst } from "./lag-stats.ts";
import { sleep } from "./measure.ts";
import { startPeer, type Peer } from "./peer-driver.ts";
import type { Results } from "./results.ts";
import { nextBoundary } from "./taskhost-burst.ts";

export async function peerBurst(results: Results, peer: Peer, jobs: number, period: Period, waitMs: number): Promise<void> {
  const running = await startPeer(peer, jobs, period);
  const boundary = nextBoundary(period);
  await sleep(boundary - Date.now());
  await waitFor(() => running.started() >= jobs, { timeoutMs: waitMs, intervalMs: 250 }).catch(() => {
    results.note(`${peer} burst: not all ${jobs} runs had started ${waitMs / 1000} s after the boundary`);
  });
  const outcome = await running.finish();
  recordBurst(results, peer, jobs, period.ms, outcome.samples.filter(([b]) => b === boundary).map(([b, startedAt]) => startedAt - b));
}

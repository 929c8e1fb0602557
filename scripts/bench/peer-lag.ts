/** Peer scheduling lag: N Bree / croner jobs every second, same window rules as taskhost's. */
import { EVERY_SECOND } from "./jobs.ts";
import { recordLag } from "./lag-stats.ts";
import { sleep, windowCpu } from "./measure.ts";
import { startPeer, type Peer } from "./peer-driver.ts";
import type { Results } from "./results.ts";
import { DRAIN_SECONDS, firstFullBoundary } from "./taskhost-lag.ts";

export async function peerLag(results: Results, peer: Peer, jobs: number, seconds: number): Promise<void> {
  const running = await startPeer(peer, jobs, EVERY_SECOND);
  const from = firstFullBoundary(Date.now());
  const cpuSeconds = await windowCpu(running.pid, from, from + seconds * 1000);
  await sleep(from + (seconds + DRAIN_SECONDS) * 1000 - Date.now());
  const outcome = await running.finish();
  const samples = outcome.samples.filter(([b]) => b >= from && b < from + seconds * 1000).map(([scheduledFor, startedAt]) => ({ scheduledFor, startedAt }));
  recordLag(results, peer, jobs, { samples, notRun: jobs * seconds - samples.length, seconds, cpuSeconds, ...(peer === "bree" ? { skipped: outcome.skipped } : {}) });
}

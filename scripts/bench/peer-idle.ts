/** Peer idle cost: N Bree / croner jobs every minute, measured like taskhost's. */
import { recordIdle } from "./idle-stats.ts";
import { EVERY_MINUTE } from "./jobs.ts";
import { startPeer, type Peer } from "./peer-driver.ts";
import type { Results } from "./results.ts";

export async function peerIdle(results: Results, peer: Peer, jobs: number, seconds: number): Promise<void> {
  const running = await startPeer(peer, jobs, EVERY_MINUTE);
  try {
    await recordIdle(results, peer, running.pid, jobs, seconds);
  } finally {
    await running.finish();
  }
}

import { watchMemory } from "../host/watch-memory.ts";
import { mb } from "../run/run-memory-book.ts";
import type { Runtime } from "./compose-runtime.ts";

/**
 * scheduler.max_memory_usage, held by the host (watch-memory.ts): over it,
 * `restart` is asked for a graceful restart. Returns what stops the watch.
 */
export function watchHostMemory(runtime: Runtime, restart: (reason: string) => void): () => void {
  const { log } = runtime;
  return watchMemory({
    intervalSec: () => runtime.config.scheduler.memoryCheckIntervalSec,
    limitBytes: () => runtime.config.scheduler.maxMemoryUsageBytes,
    onLimit: (figures, reason) => {
      const [rssMb, ownMb, runsMb, limitMb] = [figures.rssBytes, figures.ownBytes, figures.runsBytes, figures.limitBytes].map(mb);
      log.warn({ event: "memory.restart", rssMb, ownMb, runsMb, limitMb }, `${reason}: restarting gracefully`);
      restart(reason);
    },
    onRunStopped: (run, reason) => log.warn({ event: "memory.run_stopped", scheduleId: run.label }, `${run.label}: ${reason}`),
    onZombies: (count) =>
      log.warn(
        { event: "runs.zombies", count },
        `${count} process(es) started by runs ended after their run's thread (a run stopped by its heap limit) and cannot be reaped until the host restarts (taskhost restart); each holds a PID`,
      ),
    onError: (error) => log.warn({ event: "memory.sample.failed", err: error }, `could not sample memory: ${String(error)}`),
  });
}

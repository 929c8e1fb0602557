import { watchMemory } from "../host/watch-memory.ts";
import { mb } from "../run/run-memory-book.ts";
import { displayConfigPath } from "../config/config-reader.ts";
import { HOLD_FACTOR } from "../host/memory-limit-hold.ts";
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
    onLimitTooLow: (figures, hold) => {
      const [rssMb, ownMb, limitMb, ceilingMb] = [figures.rssBytes, figures.ownBytes, hold.limitBytes, hold.ceilingBytes].map(mb);
      const where = displayConfigPath(runtime.config.configPath, runtime.config.projectRoot);
      log.error(
        { event: "memory.limit_too_low", rssMb, ownMb, limitMb, ceilingMb },
        `${where}: scheduler.max_memory_usage (${limitMb} MB) is below what this host occupies on its own right after starting (${ownMb} MB of ${rssMb} MB RSS), ` +
          `so a restart would bring it straight back over: it does not restart for that, and restarts only if its own memory passes ${HOLD_FACTOR} × the most ` +
          `it occupies in its first minute (${ceilingMb} MB so far) until max_memory_usage changes. Set max_memory_usage to ${ceilingMb} or more`,
      );
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

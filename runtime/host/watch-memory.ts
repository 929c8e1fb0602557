import { mb, runMemoryBook, type RunMemoryBook, type RunMemoryEntry } from "../run/run-memory-book.ts";
import { hostMemoryVerdict, type HostMemoryFigures } from "./host-memory-verdict.ts";
import { countZombies } from "./count-zombies.ts";
import { holdFor, nextHold, type LimitHold } from "./memory-limit-hold.ts";

export interface WatchMemoryOptions {
  intervalSec(): number;
  limitBytes(): number;
  /** Called once when the host's own memory is over the limit and no silent run can be blamed. */
  onLimit(figures: HostMemoryFigures, reason: string): void;
  /** The host was over the limit it started with right after starting: it holds to `hold.ceilingBytes` instead of restarting (memory-limit-hold.ts). */
  onLimitTooLow?(figures: HostMemoryFigures, hold: LimitHold): void;
  /** A run stopped because it fell silent while the host was over its limit. */
  onRunStopped(run: RunMemoryEntry, reason: string): void;
  onError(error: unknown): void;
  /** The count of the host's unreaped children grew (count-zombies.ts); checked with each sample. */
  onZombies?(count: number): void;
  /** Defaults: this process's book of runs and RSS. */
  book?: RunMemoryBook;
  rssBytes?: () => number;
  now?: () => number;
}

/**
 * Samples the host process's RSS every `memory_check_interval` seconds and
 * holds the host's own share of it (RSS less what its runs report) to
 * `max_memory_usage` (host-memory-verdict.ts). Both settings are read at each
 * sample, so a config reload applies at once. A limit the host is over right
 * after it starts is held to a ceiling instead (memory-limit-hold.ts).
 */
export function watchMemory(options: WatchMemoryOptions): () => void {
  const book = options.book ?? runMemoryBook;
  const rss = options.rssBytes ?? (() => process.memoryUsage.rss());
  const clock = options.now ?? Date.now;
  const startedAt = clock();
  const limitAtStart = options.limitBytes();
  let hold: LimitHold | null = null;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let zombies = 0;
  // When the checks began to find the host's share over the limit it is held to (null: it is not).
  let overSince: number | null = null;
  // The same against max_memory_usage itself, for the hold (memory-limit-hold.ts).
  let overLimitSince: number | null = null;
  const sample = () => {
    if (stopped) return;
    try {
      const now = clock();
      const limit = options.limitBytes();
      hold = holdFor(hold, limit);
      const label = hold ? `the ${mb(hold.ceilingBytes)} MB it holds to while max_memory_usage (${mb(limit)} MB) is below its share at start` : undefined;
      const verdict = hostMemoryVerdict(rss(), book.runs(), hold?.ceilingBytes ?? limit, now, overSince ?? now, label);
      overSince = verdict.kind === "ok" ? null : (overSince ?? now);
      overLimitSince = verdict.figures.ownBytes > limit ? (overLimitSince ?? now) : null;
      if (verdict.kind === "restart") {
        // Only a share that is the host's own (no run silent or late) decides a hold, as a restart.
        const next = nextHold(hold, {
          ownBytes: verdict.figures.ownBytes,
          limitBytes: limit,
          limitAtStartBytes: limitAtStart,
          overSinceMs: (overLimitSince ?? now) - startedAt,
          uptimeMs: now - startedAt,
          intervalMs: options.intervalSec() * 1000,
        });
        if (next === hold) {
          stopped = true;
          options.onLimit(verdict.figures, verdict.reason);
          return;
        }
        if (!hold) options.onLimitTooLow?.(verdict.figures, next!);
        hold = next;
        overSince = null;
      }
      if (verdict.kind === "stop-silent") {
        for (const { run, reason } of verdict.runs) {
          run.stop(reason);
          options.onRunStopped(run, reason);
        }
      }
      if (options.onZombies) {
        const count = countZombies();
        if (count > zombies) options.onZombies(count);
        zombies = count;
      }
    } catch (error) {
      options.onError(error);
    }
    timer = setTimeout(sample, options.intervalSec() * 1000);
  };
  timer = setTimeout(sample, options.intervalSec() * 1000);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

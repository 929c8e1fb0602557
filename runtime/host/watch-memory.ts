import { runMemoryBook, type RunMemoryBook, type RunMemoryEntry } from "../run/run-memory-book.ts";
import { hostMemoryVerdict, type HostMemoryFigures } from "./host-memory-verdict.ts";
import { countZombies } from "./count-zombies.ts";

export interface WatchMemoryOptions {
  intervalSec(): number;
  limitBytes(): number;
  /** Called once when the host's own memory is over the limit and no silent run can be blamed. */
  onLimit(figures: HostMemoryFigures, reason: string): void;
  /** A run stopped because it fell silent while the host was over its limit. */
  onRunStopped(run: RunMemoryEntry, reason: string): void;
  onError(error: unknown): void;
  /** The count of the host's unreaped children grew (count-zombies.ts); checked with each sample. */
  onZombies?(count: number): void;
  /** Defaults: this process's book of runs and RSS. */
  book?: RunMemoryBook;
  rssBytes?: () => number;
}

/**
 * Samples the host process's RSS every `memory_check_interval` seconds and
 * holds the host's own share of it (RSS less what its runs report) to
 * `max_memory_usage` (host-memory-verdict.ts). Both settings are read at each
 * sample, so a config reload applies at once.
 */
export function watchMemory(options: WatchMemoryOptions): () => void {
  const book = options.book ?? runMemoryBook;
  const rss = options.rssBytes ?? (() => process.memoryUsage.rss());
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let zombies = 0;
  // When the checks began to find the host's share over max_memory_usage (null: it is not).
  let overSince: number | null = null;
  const sample = () => {
    if (stopped) return;
    try {
      const now = Date.now();
      const verdict = hostMemoryVerdict(rss(), book.runs(), options.limitBytes(), now, overSince ?? now);
      overSince = verdict.kind === "ok" ? null : (overSince ?? now);
      if (verdict.kind === "restart") {
        stopped = true;
        options.onLimit(verdict.figures, verdict.reason);
        return;
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

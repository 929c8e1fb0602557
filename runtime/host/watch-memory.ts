import pidusage from "pidusage";

export interface WatchMemoryOptions {
  intervalSec(): number;
  limitBytes(): number;
  /** Called once when RSS is above the limit. */
  onLimit(rssBytes: number): void;
  onError(error: unknown): void;
}

/**
 * Samples the host process's RSS (worker threads and their runs included:
 * they live in this process) every `memory_check_interval` seconds. Both
 * settings are read at each sample, so a config reload applies at once.
 */
export function watchMemory(options: WatchMemoryOptions): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const sample = async () => {
    if (stopped) return;
    try {
      const { memory } = await pidusage(process.pid);
      if (stopped) return;
      if (memory > options.limitBytes()) {
        stopped = true;
        options.onLimit(memory);
        return;
      }
    } catch (error) {
      options.onError(error);
    }
    if (!stopped) timer = setTimeout(() => void sample(), options.intervalSec() * 1000);
  };
  timer = setTimeout(() => void sample(), options.intervalSec() * 1000);
  return () => {
    stopped = true;
    clearTimeout(timer);
    pidusage.clear();
  };
}

import path from "node:path";
import { loadConfigFile } from "../config/load-config-file.ts";
import type { ResolvedConfig } from "../config/config-options.ts";
import { CoalescingQueue } from "../watch/coalescing-queue.ts";
import { watchPaths, type Watching } from "../watch/watch-paths.ts";
import type { HostLog } from "../scheduler/scheduler-types.ts";
import { changedConfigKeys } from "./config-changes.ts";

export interface WatchConfigOptions {
  configPath: string;
  projectRoot: string;
  current(): ResolvedConfig;
  /** Applies a validated configuration; throwing rejects it (the old one stays). */
  apply(next: ResolvedConfig, changed: string[]): Promise<void>;
  log(): HostLog;
}

/**
 * Live config: each save of the file is re-read through the same resolveConfig
 * as at start. A valid one is applied and logged as `config.reloaded` with the
 * keys that changed; an invalid one is `config.rejected` naming the key or
 * line, and the configuration in force stays.
 */
export async function watchConfig(options: WatchConfigOptions): Promise<Watching> {
  const file = path.resolve(options.projectRoot, options.configPath);
  const queue = new CoalescingQueue<string>(
    40,
    async () => {
      let next: ResolvedConfig;
      let warnings;
      try {
        ({ config: next, warnings } = loadConfigFile(file, options.projectRoot));
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        options.log().error(
          { event: "config.rejected", file, key: (error as { key?: string }).key, line: (error as { line?: number }).line, error: message },
          `config rejected, the previous configuration stays in force: ${message}`,
        );
        return;
      }
      for (const warning of warnings) options.log().warn({ event: "config.warning", key: warning.key }, warning.message);
      const changed = changedConfigKeys(options.current(), next);
      if (changed.length === 0) return;
      try {
        await options.apply(next, changed);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        options.log().error({ event: "config.rejected", file, changed, error: message }, `config rejected: ${message}`);
        return;
      }
      options.log().info({ event: "config.reloaded", changed }, `config reloaded: ${changed.join(", ")}`);
    },
    (error) => options.log().error({ event: "config.reload.failed", err: error }, String(error)),
  );
  // Watch the folder: editors replace the file, and it may not exist yet.
  const watching = await watchPaths({
    paths: [path.dirname(file)],
    ignored: (p) => p !== path.dirname(file) && p !== file,
    onEvent: () => queue.push(file),
    onError: (error) => options.log().error({ event: "watch.error", err: error }, `config watcher: ${String(error)}`),
  });
  return {
    close: async () => {
      queue.close();
      await watching.close();
    },
  };
}

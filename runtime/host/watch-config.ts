import path from "node:path";
import { readFileSync } from "node:fs";
import { loadConfigWithSource } from "../config/last-good-config.ts";
import type { ConfigWarning, ResolvedConfig } from "../config/config-options.ts";
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
  /** The file was refused: the configuration in force stays (status and dashboard say so). */
  rejected(error: unknown): void;
  /** The file is valid and in force (or unchanged from what is): its text is the last good one, with these warnings. */
  accepted(source: string | null, warnings: readonly ConfigWarning[]): Promise<void>;
}

/**
 * Live config: each save of the file is re-read through the same resolveConfig
 * as at start. A valid one is applied and logged as `config.reloaded` with the
 * keys that changed; an invalid one is `config.rejected` naming the key or
 * line, and the configuration in force stays. A save whose text is the same as
 * the last one looked at (a second event of one save) is no reload and logs nothing.
 */
export async function watchConfig(options: WatchConfigOptions): Promise<Watching> {
  const file = path.resolve(options.projectRoot, options.configPath);
  const read = () => {
    try {
      return readFileSync(file, "utf8");
    } catch {
      return null;
    }
  };
  let lastSeen = read();
  const queue = new CoalescingQueue<string>(
    40,
    async () => {
      const text = read();
      if (text === lastSeen) return;
      lastSeen = text;
      let next: ResolvedConfig;
      let warnings;
      let source: string | null;
      try {
        ({ config: next, warnings, source } = loadConfigWithSource(file, options.projectRoot));
      } catch (error) {
        options.rejected(error);
        const message = error instanceof Error ? error.message : String(error);
        options.log().error(
          { event: "config.rejected", file, key: (error as { key?: string }).key, line: (error as { line?: number }).line, error: message },
          `config rejected, the previous configuration stays in force (also across restarts) until the file is fixed: ${message}`,
        );
        return;
      }
      for (const warning of warnings) options.log().warn({ event: "config.warning", key: warning.key }, warning.message);
      const changed = changedConfigKeys(options.current(), next);
      if (changed.length === 0) {
        await options.accepted(source, warnings);
        return;
      }
      try {
        await options.apply(next, changed);
      } catch (error) {
        options.rejected(error);
        const message = error instanceof Error ? error.message : String(error);
        options.log().error(
          { event: "config.rejected", file, key: (error as { key?: string }).key, changed, error: message },
          `config rejected, the previous configuration stays in force: ${message}`,
        );
        return;
      }
      await options.accepted(source, warnings);
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

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { watch, type FSWatcher } from "chokidar";

/**
 * Quiet time before a path's events are passed on: just past chokidar's 50 ms
 * throttle of repeated `change` events, which drops the writes after the first
 * within that window. One burst of saves (an editor's write-truncate-write-rename,
 * a script writing six times) is one event, read after it settled.
 */
export const SETTLE_MS = 70;

export type FileEvent = "add" | "change" | "unlink";

export interface WatchPathsOptions {
  paths: string[];
  /** Return true to ignore a path (node_modules, dot-folders...). */
  ignored?: (path: string) => boolean;
  /** Follow symbolic links into what they point at (chokidar's default: true). */
  followSymlinks?: boolean;
  onEvent(event: FileEvent, file: string): void;
  onError(error: unknown): void;
}

export interface Watching {
  /** Safe to call twice. */
  close(): Promise<void>;
}

/**
 * chokidar on the given paths, started after its initial scan (ignoreInitial:
 * the host loads what exists itself). Native events, no polling loop; `atomic`
 * folds an editor's unlink+add of a write-then-rename save into one change.
 */
export async function watchPaths(options: WatchPathsOptions): Promise<Watching> {
  const watcher: FSWatcher = watch(options.paths, {
    ignoreInitial: true,
    atomic: true,
    followSymlinks: options.followSymlinks ?? true,
    ignored: (path) => options.ignored?.(path) ?? false,
  });
  // chokidar drops a second `change` of a path within 50 ms of the first, so the last
  // write of a burst could go unseen: each path's events are held until SETTLE_MS pass
  // without one, then passed on once as what the path is now.
  const pending = new Map<string, NodeJS.Timeout>();
  const emit = (_event: FileEvent, file: string) => {
    clearTimeout(pending.get(file));
    pending.set(
      file,
      setTimeout(() => {
        pending.delete(file);
        if (!closed) options.onEvent(existsSync(file) ? "change" : "unlink", file);
      }, SETTLE_MS),
    );
  };
  // The raw fs event of each write comes at once; chokidar's own event only after a stat, which a busy
  // thread pool can hold back past the settle time. A path already waiting is held on by its raw events
  // too, so a burst is one event even when its first stat answered late.
  watcher.on("raw", (_event: string, rawPath: unknown, details: unknown) => {
    const watched = (details as { watchedPath?: unknown } | undefined)?.watchedPath;
    if (typeof watched !== "string") return;
    for (const file of [typeof rawPath === "string" ? resolve(watched, rawPath) : null, watched]) {
      if (file !== null && pending.has(file)) emit("change", file);
    }
  });
  watcher.on("add", (file) => emit("add", file));
  watcher.on("change", (file) => emit("change", file));
  watcher.on("unlink", (file) => emit("unlink", file));
  watcher.on("error", (error) => options.onError(error));
  let closed = false;
  await new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
  return {
    close: async () => {
      if (closed) return;
      closed = true;
      for (const timer of pending.values()) clearTimeout(timer);
      await watcher.close();
    },
  };
}

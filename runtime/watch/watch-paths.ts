import { existsSync } from "node:fs";
import { watch, type FSWatcher } from "chokidar";

/** Just past chokidar's 50 ms throttle of repeated `change` events. */
const RECHECK_MS = 70;

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
  // chokidar drops a second `change` of a path within 50 ms of the first, so the
  // last write of a quick double save could go unseen: every event is followed by
  // one more look after that window. Handlers treat unchanged content as a no-op.
  const recheck = new Map<string, NodeJS.Timeout>();
  const emit = (event: FileEvent, file: string) => {
    options.onEvent(event, file);
    clearTimeout(recheck.get(file));
    recheck.set(
      file,
      setTimeout(() => {
        recheck.delete(file);
        if (!closed) options.onEvent(existsSync(file) ? "change" : "unlink", file);
      }, RECHECK_MS),
    );
  };
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
      for (const timer of recheck.values()) clearTimeout(timer);
      await watcher.close();
    },
  };
}

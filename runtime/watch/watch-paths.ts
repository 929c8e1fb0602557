import { watch, type FSWatcher } from "chokidar";

export type FileEvent = "add" | "change" | "unlink";

export interface WatchPathsOptions {
  paths: string[];
  /** Return true to ignore a path (node_modules, dot-folders...). */
  ignored?: (path: string) => boolean;
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
    ignored: (path) => options.ignored?.(path) ?? false,
  });
  watcher.on("add", (file) => options.onEvent("add", file));
  watcher.on("change", (file) => options.onEvent("change", file));
  watcher.on("unlink", (file) => options.onEvent("unlink", file));
  watcher.on("error", (error) => options.onError(error));
  await new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
  let closed = false;
  return {
    close: async () => {
      if (closed) return;
      closed = true;
      await watcher.close();
    },
  };
}

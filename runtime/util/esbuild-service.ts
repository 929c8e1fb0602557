/**
 * esbuild's `build`, with its service process stopped once the host has not
 * bundled anything for a few seconds. esbuild runs as a child process that
 * otherwise lives as long as the host (~23 MB of RSS); it bundles at start
 * and on hot reloads only, and starts again (in ~10 ms) on the next build.
 */
import * as esbuild from "esbuild";
import type { BuildOptions, BuildResult } from "esbuild";

/** Idle time after the last build before the service stops. */
export const ESBUILD_IDLE_MS = 5000;

let inFlight = 0;
let idleTimer: NodeJS.Timeout | undefined;
let stopping: Promise<void> | null = null;

export async function build<T extends BuildOptions>(options: T): Promise<BuildResult<T>> {
  clearTimeout(idleTimer);
  inFlight++;
  try {
    // A build that comes while the service stops waits for it, then starts a fresh one.
    await stopping;
    return (await esbuild.build(options as never)) as BuildResult<T>;
  } finally {
    if (--inFlight === 0) idleTimer = setTimeout(stopWhenIdle, ESBUILD_IDLE_MS).unref();
  }
}

function stopWhenIdle(): void {
  if (inFlight > 0 || stopping) return;
  stopping = esbuild
    .stop()
    .catch(() => {})
    .finally(() => (stopping = null));
}

import { pathToFileURL } from "node:url";
import type { InspectResult } from "../task-file/bundle-inspection.ts";
import { WorkerHandle, type WorkerHandleOptions, type WorkerSpawn } from "./worker-handle.ts";
import { watchRunChildren, type RunChildren } from "./end-run-children.ts";
import { newRunOverFlag, type RunOverFlag } from "./run-children.ts";

export { ERR_TASK_IMPORT } from "../errors.ts";
import { ERR_TASK_IMPORT, taskhostError } from "../errors.ts";

/** Heap of a worker that only imports bundles. */
export const INSPECT_MEMORY_MB = 256;

/** A task's import ran past `timeoutMs` (in a worker of its own or a shared one). */
export function importTimedOut(timeoutMs: number): Error {
  return taskhostError(ERR_TASK_IMPORT, `importing the task did not finish within ${timeoutMs / 1000}s (an endless loop at top level?)`);
}

/**
 * What an inspecting worker needs so that the processes a bundle's top level starts (a
 * module-level timer fires while it is imported) end before its thread is terminated, as a
 * run's do: left alone they outlived the thread, tracked by nobody. One flag for the
 * worker's life: a pooled inspector's bundles' processes end when it closes, after its batch.
 */
export function inspectorChildren(): { over: RunOverFlag } & Pick<WorkerHandleOptions, "attach" | "beforeTerminate"> {
  const over = newRunOverFlag();
  let children: RunChildren | null = null;
  return {
    over,
    attach: (worker) => {
      children = watchRunChildren(worker, over);
    },
    beforeTerminate: () => children?.end() ?? Promise.resolve(),
  };
}

/**
 * Imports a task bundle in a throw-away worker and reads its decorated
 * schedules. Task code never runs on the host's own thread: a throw, an endless
 * loop or process.exit() at import time becomes an error for that task only.
 */
export function inspectBundle(spawn: WorkerSpawn, bundlePath: string, timeoutMs = 10_000, signal?: AbortSignal): Promise<InspectResult> {
  return new Promise<InspectResult>((resolve, reject) => {
    let done = false;
    const end = (error: Error | null, result?: InspectResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      void worker.close();
      if (error === signal?.reason) reject(error);
      else if (error) reject(Object.assign(error, { code: ERR_TASK_IMPORT }));
      else resolve(result!);
    };
    const { over, ...children } = inspectorChildren();
    const worker = new WorkerHandle({
      ...spawn,
      ...children,
      input: { mode: "inspect", bundleUrl: pathToFileURL(bundlePath).href, over },
      memoryLimitMb: INSPECT_MEMORY_MB,
      onMessage: (message) => {
        if (message.type === "inspected") end(null, { schedules: message.schedules, methods: message.methods });
        else if (message.type === "done" && !message.ok) end(new Error(message.error.stack ?? message.error.message));
      },
      onEnd: (ended) =>
        end(ended.kind === "error" ? ended.error : new Error(`the task called process.exit(${ended.code}) while being imported`)),
    });
    // The host is stopping: end the worker, and let the caller know this says nothing about the task.
    const onAbort = () => end(signal!.reason as Error);
    const timer = setTimeout(() => end(importTimedOut(timeoutMs)), timeoutMs);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
}

import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import { ERR_TASK_IMPORT, importTimedOut, INSPECT_MEMORY_MB, inspectBundle, inspectorChildren } from "./inspect-bundle.ts";
import type { BundleInspector, InspectResult } from "../task-file/bundle-inspection.ts";
import type { WorkerMessage } from "./worker-protocol.ts";
import { WorkerHandle, type WorkerSpawn } from "./worker-handle.ts";

/** An inspection ended because the inspector was disposed (the host is stopping): not the task's fault. */
export { ERR_INSPECTOR_STOPPED } from "../errors.ts";
import { ERR_INSPECTOR_STOPPED, taskhostError } from "../errors.ts";

function stoppedError(): Error {
  return taskhostError(ERR_INSPECTOR_STOPPED, "taskhost: the bundle inspector was stopped (the host is stopping)");
}

export interface BundleInspectorOptions extends WorkerSpawn {
  /** Workers importing at once (default: the machine's cores, at most 4). */
  maxWorkers?: number;
  /** Bundles one worker imports before it is replaced, so module state and memory stay bounded. */
  batchSize?: number;
  /** Longest one import may take. */
  timeoutMs?: number;
}

interface Job {
  bundlePath: string;
  resolve: (result: InspectResult) => void;
  reject: (error: Error) => void;
}

/**
 * Reads the schedules of many task bundles with few workers: a cold start with
 * 1,000 files spends most of its time starting one worker per file otherwise.
 * A worker imports queued bundles one after another and ends when the queue is
 * empty. A bundle that fails in a worker that imported others before it (it
 * exits, throws, hangs, or meets an earlier bundle's leftovers: a changed
 * global, a busy timer, a late rejection) is inspected again in a worker of its
 * own, so a task is only ever blamed for what it does alone.
 */
export function createBundleInspector(options: BundleInspectorOptions): BundleInspector {
  const maxWorkers = options.maxWorkers ?? Math.min(4, Math.max(1, availableParallelism()));
  const batchSize = options.batchSize ?? 32;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const queue: Job[] = [];
  /** Each live worker, with what ends it and settles its job (dispose calls it: a closed worker reports no end). */
  const workers = new Map<WorkerHandle, () => void>();
  /** Workers not yet online: each will take a job as soon as it is. */
  let starting = 0;
  let disposed = false;
  /** Ends the solo inspections on dispose. */
  const stopping = new AbortController();

  const solo = (job: Job): void => {
    inspectBundle(options, job.bundlePath, timeoutMs, stopping.signal).then(job.resolve, job.reject);
  };

  const spawn = (): void => {
    starting += 1;
    let online = false;
    let current: Job | undefined;
    let done = 0;
    let timer: NodeJS.Timeout | undefined;

    const end = (): void => {
      if (!workers.delete(worker)) return;
      clearTimeout(timer);
      void worker.close();
      pump();
    };
    const next = (): void => {
      current = done < batchSize && !disposed ? queue.shift() : undefined;
      if (!current) return end();
      done += 1;
      timer = setTimeout(() => {
        const job = current!;
        current = undefined;
        if (done > 1 && !disposed) solo(job); // an earlier bundle's timer may be what kept it busy
        else job.reject(importTimedOut(timeoutMs));
        end();
      }, timeoutMs);
      worker.post({ type: "inspect", bundleUrl: pathToFileURL(current.bundlePath).href });
    };
    const died = (): void => {
      if (!online) {
        online = true;
        starting -= 1;
      }
      // A worker that could not even start: the next job learns why in a worker of its own
      // (rather than this spawning again and again).
      const job = current ?? (done === 0 ? queue.shift() : undefined);
      current = undefined;
      if (job && !disposed) solo(job);
      else job?.reject(stoppedError());
      end();
    };
    const onMessage = (message: WorkerMessage): void => {
      if (!current) return;
      if (message.type === "inspected") current.resolve({ schedules: message.schedules, methods: message.methods });
      else if (message.type === "inspect-failed") {
        if (done > 1) {
          // Maybe its own fault, maybe an earlier bundle's leftovers: ask again in a clean worker.
          const job = current;
          current = undefined;
          solo(job);
          return end();
        }
        current.reject(taskhostError(ERR_TASK_IMPORT, message.error.stack ?? message.error.message));
      } else return;
      clearTimeout(timer);
      next();
    };
    const { over, ...children } = inspectorChildren();
    const worker: WorkerHandle = new WorkerHandle({
      entryFile: options.entryFile,
      paths: options.paths,
      ...children,
      input: { mode: "inspect-many", over },
      memoryLimitMb: INSPECT_MEMORY_MB,
      onMessage,
      onEnd: died,
      onOnline: () => {
        if (online) return;
        online = true;
        starting -= 1;
        next();
      },
    });
    workers.set(worker, died);
  };

  function pump(): void {
    // A worker takes the next job itself when it is done with one; start more only
    // for jobs no starting worker will take.
    while (!disposed && queue.length > starting && workers.size < maxWorkers) spawn();
  }

  return {
    inspect(bundlePath) {
      if (disposed) return Promise.reject(stoppedError());
      return new Promise<InspectResult>((resolve, reject) => {
        queue.push({ bundlePath, resolve, reject });
        pump();
      });
    },
    async dispose() {
      disposed = true;
      stopping.abort(stoppedError());
      for (const job of queue.splice(0)) job.reject(stoppedError());
      const closing = [...workers.keys()].map((worker) => worker.close());
      for (const died of [...workers.values()]) died();
      await Promise.all(closing);
    },
  };
}

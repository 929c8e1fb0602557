/**
 * The code a run's worker thread executes. Bundled to plain JS at host start
 * (so workers do not pay for a TypeScript loader) and kept free of heavy imports.
 */
import { parentPort, workerData } from "node:worker_threads";
import { format } from "node:util";
import type { HostMessage, SerializedError, WorkerData, WorkerMessage } from "./worker-protocol.ts";
import { authorFrames, serializeThrown } from "./serialize-thrown.ts";
import { readSchedules } from "../api/read-schedules.ts";
import { abortReason } from "../api/abort-reason.ts";
import { methodNames, taskExport, taskMethod, type TaskExport } from "./task-export.ts";
import { makeTaskContext } from "./task-context-factory.ts";
import { setCurrentRun } from "../api/current-run.ts";
import { trackRunChildren } from "./run-children.ts";
import { reportRunMemory } from "./report-run-memory.ts";
import { publishTaskPaths } from "./task-paths.ts";
import { stdioThrough } from "./stdio-through.ts";

// Stack traces of task errors should name tasks/x.ts:line, not the bundle.
process.setSourceMapsEnabled(true);

const input = workerData as WorkerData;
const port = parentPort!;
// Before any task code: helpers (and processes a run starts) find the project through these.
if (input.paths) publishTaskPaths(input.paths);
const projectRoot = input.paths?.projectRoot ?? process.cwd();
// Before any task code: what a run starts ends with it (issue 10.4), and so does what a bundle's
// top level starts while it is imported for its schedules (a module-level timer's spawn).
trackRunChildren(port, input.over);
if (input.mode === "run") reportRunMemory(port);
// Before any task code: console lines arrive in order with ctx.log's (sent before any other message).
const flushOutput = input.mode === "run" ? stdioThrough((chunks) => port.postMessage({ type: "output", chunks } satisfies WorkerMessage)) : () => {};
const post = (message: WorkerMessage): void => {
  flushOutput();
  port.postMessage(message);
};
const abort = new AbortController();
type Go = Extract<HostMessage, { type: "go" }>;
let go: (message: Go) => void = () => {};
const goSignal = new Promise<Go>((resolve) => (go = resolve));

port.on("message", (message: HostMessage) => {
  if (message.type === "go") go(message);
  else if (message.type === "abort") abort.abort(abortReason(message.reason, message.graceful === true));
  else if (message.type === "inspect") inspect(message.bundleUrl);
});

function serialize(error: unknown): SerializedError {
  return serializeThrown(error, stripRuntimeFrames);
}

/** Frames of this entry file say nothing to the task's author; paths read best from the project root. */
function stripRuntimeFrames(stack: string | undefined): string | undefined {
  return stack && authorFrames(stack, /worker-entry-[0-9a-f]+\.mjs/, projectRoot);
}

async function loadClass(url: string): Promise<TaskExport> {
  return taskExport(await import(url));
}

/** One bundle of an `inspect-many` worker: the host sends the next once this one answered. */
function inspect(url: string): void {
  loadClass(url)
    .then((cls) => ({ schedules: readSchedules(cls), methods: methodNames(cls) }))
    .then(
      ({ schedules, methods }) => post({ type: "inspected", schedules, methods }),
      (error: unknown) => post({ type: "inspect-failed", error: serialize(error) }),
    );
}

async function main(): Promise<void> {
  if (input.mode === "inspect-many") return;
  const cls = await loadClass(input.bundleUrl);
  if (input.mode === "inspect") {
    post({ type: "inspected", schedules: readSchedules(cls), methods: methodNames(cls) });
    return;
  }
  const { instance, fn } = taskMethod(cls, input.method);
  post({ type: "ready" });
  const { state, notAfter } = await goSignal;
  // Frozen between the host's go and now: the host decides again (catch_up), the code does not begin.
  if (notAfter !== undefined && Date.now() > notAfter) return post({ type: "too-late" });
  const ctx = makeTaskContext(input, state, abort.signal, {
    log: (level, message) => post({ type: "log", level, message }),
    state: (key, value, deleted) => post({ type: "state", key, value, deleted }),
  });
  setCurrentRun({
    task: ctx.task,
    scheduleId: ctx.scheduleId,
    log: ctx.log,
    signal: ctx.signal,
    projectRoot,
    cleanStack: (stack) => stripRuntimeFrames(stack)!,
  });
  post({ type: "started", at: Date.now() });
  await fn.call(instance, ctx);
  returned = true;
  await turnEnded();
  finish({ type: "done", ok: true });
}

/** The run's one end: the first of its method's result and an unhandled rejection before it returned. */
let finished = false;
function finish(message: Extract<WorkerMessage, { type: "done" }>): void {
  if (finished) return;
  finished = true;
  post(message);
}

/**
 * Resolves in the next turn of the event loop, before "done" is posted (the host ends the thread
 * on it): a rejection the method left unhandled is reported by then (Node does so once the
 * microtasks ran), and judged as before or after the method returned. The task's output goes
 * with its messages (stdio-through.ts), so nothing else is in flight.
 */
function turnEnded(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The method has returned: the run succeeded, whatever it left behind. */
let returned = false;
process.on("unhandledRejection", (reason) => {
  // Reading many bundles' schedules: a stray rejection at import is its own run's to fail, under that
  // run's isolation. Thrown here it killed the worker, before or after the bundle's answer went out
  // depending on the loader's timing, so a good bundle could be blamed or read again (a CI flake).
  if (input.mode === "inspect-many") return;
  // Before the method returns, a rejection nobody handles fails the run (Node's own rule).
  // Reported as the method's own failure would be (its stack cleaned), not thrown to kill the
  // thread, whose error the host would report raw (this entry's frames, absolute paths).
  if (!returned) return finish({ type: "done", ok: false, error: serialize(reason) });
  const text = reason instanceof Error ? (stripRuntimeFrames(reason.stack) ?? reason.message) : format("%o", reason);
  post({ type: "log", level: "warn", message: `unhandled rejection after the run returned (ignored): ${text}` });
});

main().catch(async (error: unknown) => {
  await turnEnded();
  finish({ type: "done", ok: false, error: serialize(error) });
});

import { format } from "node:util";
import type { SerializedError } from "./worker-protocol.ts";

/**
 * What a run threw, as the host records it. Duck-typed (an Error from a run's own
 * V8 context is not `instanceof` this realm's Error), and reading the value may
 * itself throw (a getter on `message`, a Proxy): then the run still ends as a
 * failure saying so, instead of the entry dying and the run timing out.
 */
export function serializeThrown(error: unknown, cleanStack: (stack: string | undefined) => string | undefined): SerializedError {
  try {
    if (isErrorLike(error)) return { message: error.message, stack: cleanStack(error.stack) };
    return { message: format("%o", error) };
  } catch (problem) {
    let why: string;
    try {
      why = problem instanceof Error ? problem.message : typeof problem;
    } catch {
      why = "unreadable";
    }
    return { message: `the run threw a value that cannot be read (reading it threw: ${why})` };
  }
}

/**
 * A stack frame an author reads: not the entry file that ran the method (`entryFile`: its
 * name pattern), nor the event loop's dispatch under it (a message or timer handler: a run
 * started by a message shows MessagePort frames a scheduled one does not), and its paths
 * from the project root.
 */
export function authorFrames(stack: string, entryFile: RegExp, projectRoot: string): string {
  const root = `${projectRoot}/`;
  return stack
    .split("\n")
    .filter((line) => !entryFile.test(line) && !LOOP_FRAME.test(line))
    .map((line) => line.replaceAll(`file://${root}`, "").replaceAll(root, ""))
    .join("\n");
}

const LOOP_FRAME = /^\s+at (?:.*\()?(?:node:internal\/(?:event_target|per_context\/messageport|process\/task_queues|timers):\d+:\d+\)?|\[nodejs\.internal\.kHybridDispatch\])/;

export function isErrorLike(value: unknown): value is Error {
  return typeof value === "object" && value !== null && typeof (value as Error).message === "string" && "stack" in value;
}

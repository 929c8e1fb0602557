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

export function isErrorLike(value: unknown): value is Error {
  return typeof value === "object" && value !== null && typeof (value as Error).message === "string" && "stack" in value;
}

import { format } from "node:util";
import { setLongTimeout } from "./long-timeout.ts";
import { currentRun } from "../runtime/api/current-run.ts";

/** An error's message (first line of what went wrong), whatever was thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : format("%o", error);
}

/**
 * An error with its stack trace (and its cause's), for logs. In a run the stack reads as the
 * run's own error does: without taskhost's entry file's frames and the event loop's.
 */
export function errorWithStack(error: unknown, cleanStack: (stack: string) => string = currentRun()?.cleanStack ?? ((stack) => stack)): string {
  if (!(error instanceof Error)) return errorMessage(error);
  let text = error.stack === undefined ? `${error.name}: ${error.message}` : cleanStack(error.stack);
  if (error.cause !== undefined) text += `\nCaused by: ${errorWithStack(error.cause, cleanStack)}`;
  return text;
}

/** Resolves after `ms`, or rejects at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      timer.clear();
      reject(abortError(signal!));
    };
    const timer = setLongTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The error to reject with when a run's signal aborted. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return new Error(`aborted: ${reason instanceof Error ? reason.message : String(reason ?? "the run was stopped")}`, { cause: reason });
}

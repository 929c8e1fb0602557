import { format } from "node:util";
import { setLongTimeout } from "./long-timeout.ts";

/** An error's message (first line of what went wrong), whatever was thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : format("%o", error);
}

/** An error with its stack trace (and its cause's), for logs. */
export function errorWithStack(error: unknown): string {
  if (!(error instanceof Error)) return errorMessage(error);
  let text = error.stack ?? `${error.name}: ${error.message}`;
  if (error.cause !== undefined) text += `\nCaused by: ${errorWithStack(error.cause)}`;
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

/**
 * Why a run's ctx.signal aborted. A graceful stop of the host (stop, restart,
 * a memory restart) aborts it too, so a task can wind down, but the run may
 * still finish within shutdown_grace: the helpers then let a command they
 * run finish (the host ends its process group when the grace runs out),
 * where a timeout or a cancel (overlap: replace) stops it at once.
 */
const GRACEFUL = "ERR_HOST_STOPPING";

export function abortReason(message: string, graceful: boolean): Error {
  const error = new Error(message);
  if (graceful) Object.assign(error, { code: GRACEFUL });
  return error;
}

/** Whether the signal aborted for a graceful stop of the host (abortReason(…, true)). */
export function isGracefulStop(signal: AbortSignal | undefined): boolean {
  return (signal?.reason as { code?: unknown } | undefined)?.code === GRACEFUL;
}

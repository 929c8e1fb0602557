/** How long a run gets between ctx.signal aborting and being killed: a quarter of its timeout, 0.5–5 s. */
export function graceFor(timeoutSec: number): number {
  return Math.round(Math.min(5, Math.max(0.5, timeoutSec / 4)) * 1000);
}

/**
 * The timers a context's code sees: Node's own, but remembered, so that
 * whatever a run leaves pending is cleared when its context is dropped and
 * never fires into the next run. Once closed, new timers are refused (code of
 * an ended run that resumes after a late I/O callback schedules nothing).
 */
import * as hostTimers from "node:timers";

type Handle = NodeJS.Timeout | NodeJS.Immediate;
type Callback = (...args: unknown[]) => void;

/** What a refused timer returns: enough of a Timeout for code that calls unref() on it. */
const inert = Object.freeze({
  ref: () => inert,
  unref: () => inert,
  hasRef: () => false,
  refresh: () => inert,
  close: () => inert,
  [Symbol.toPrimitive]: () => 0,
});

export class RunTimers {
  /** Pending handles, and whether each is an Immediate (clearImmediate on a Timeout corrupts Node's counts). */
  private readonly live = new Map<Handle, boolean>();
  private closed = false;

  readonly setTimeout = (fn: Callback, ms?: number, ...args: unknown[]): unknown => {
    if (this.closed || typeof fn !== "function") return inert;
    const handle: NodeJS.Timeout = hostTimers.setTimeout(() => {
      this.live.delete(handle);
      fn(...args);
    }, ms);
    this.live.set(handle, false);
    return handle;
  };

  readonly setInterval = (fn: Callback, ms?: number, ...args: unknown[]): unknown => {
    if (this.closed || typeof fn !== "function") return inert;
    const handle = hostTimers.setInterval(fn, ms, ...args);
    this.live.set(handle, false);
    return handle;
  };

  readonly setImmediate = (fn: Callback, ...args: unknown[]): unknown => {
    if (this.closed || typeof fn !== "function") return inert;
    const handle: NodeJS.Immediate = hostTimers.setImmediate(() => {
      this.live.delete(handle);
      fn(...args);
    });
    this.live.set(handle, true);
    return handle;
  };

  readonly clearTimeout = (handle: unknown): void => {
    if (handle === inert || this.live.get(handle as Handle) === true) return;
    this.live.delete(handle as Handle);
    hostTimers.clearTimeout(handle as NodeJS.Timeout);
  };

  readonly clearInterval = this.clearTimeout;

  readonly clearImmediate = (handle: unknown): void => {
    if (handle === inert || this.live.get(handle as Handle) !== true) return;
    this.live.delete(handle as Handle);
    hostTimers.clearImmediate(handle as NodeJS.Immediate);
  };

  /** `node:timers` as the context requires it. */
  get module(): Record<string, unknown> {
    const { setTimeout, setInterval, setImmediate, clearTimeout, clearInterval, clearImmediate } = this;
    return { ...hostTimers, setTimeout, setInterval, setImmediate, clearTimeout, clearInterval, clearImmediate, promises: this.promises };
  }

  /** `node:timers/promises`: setTimeout and setImmediate go through this run's timers; the rest is Node's. */
  get promises(): Record<string, unknown> {
    const delay =
      (schedule: (fn: Callback) => unknown) =>
      <T>(value?: T, options?: { signal?: AbortSignal }) =>
        new Promise<T | undefined>((resolve, reject) => {
          const signal = options?.signal;
          if (signal?.aborted) return reject(abortError(signal));
          const handle = schedule(() => {
            signal?.removeEventListener("abort", onAbort);
            resolve(value);
          });
          const onAbort = () => {
            this.clearTimeout(handle);
            this.clearImmediate(handle);
            reject(abortError(signal!));
          };
          signal?.addEventListener("abort", onAbort, { once: true });
        });
    return {
      ...hostTimers.promises,
      setTimeout: <T>(ms?: number, value?: T, options?: { signal?: AbortSignal }) => delay((fn) => this.setTimeout(fn, ms))(value, options),
      setImmediate: <T>(value?: T, options?: { signal?: AbortSignal }) => delay((fn) => this.setImmediate(fn))(value, options),
    };
  }

  /** Clears everything still pending and refuses new timers. Returns how many were pending. */
  close(): number {
    this.closed = true;
    const pending = this.live.size;
    for (const [handle, immediate] of this.live) {
      if (immediate) hostTimers.clearImmediate(handle as NodeJS.Immediate);
      else hostTimers.clearTimeout(handle as NodeJS.Timeout);
    }
    this.live.clear();
    return pending;
  }
}

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error("The operation was aborted", { cause: signal.reason }), { name: "AbortError", code: "ABORT_ERR" });
}

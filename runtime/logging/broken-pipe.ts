/**
 * A console stream whose reader went away (`taskhost start | head -2`, a closed
 * terminal) fails its next write with EPIPE, emitted as an `error` event: with no
 * listener that event kills the process. The host must outlive its console, so
 * such a stream is marked closed and further writes to it are dropped.
 */

type OnClosed = (error: NodeJS.ErrnoException) => void;

const broken = new WeakSet<NodeJS.WritableStream>();
/** The latest caller's callback per guarded stream: one listener however often logs are rebuilt. */
const callbacks = new WeakMap<NodeJS.WritableStream, OnClosed | undefined>();

/**
 * Adds (once per stream) an `error` listener that marks the stream closed;
 * `onClosed` (the latest one given) runs for the first error only.
 */
export function guardBrokenPipe(stream: NodeJS.WritableStream, onClosed?: OnClosed): void {
  const known = callbacks.has(stream);
  callbacks.set(stream, onClosed);
  // A stand-in with no events (tests) has no pipe to break.
  if (known || typeof stream.on !== "function") return;
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (broken.has(stream)) return;
    broken.add(stream);
    callbacks.get(stream)?.(error);
  });
}

/** Whether the stream's reader has gone (nothing written to it reaches anyone). */
export function isBrokenPipe(stream: NodeJS.WritableStream): boolean {
  return broken.has(stream);
}

/** Writes unless the stream is known closed; a write that throws marks it so. */
export function writeUnlessBroken(stream: NodeJS.WritableStream, text: string | Uint8Array): void {
  if (broken.has(stream)) return;
  try {
    stream.write(text);
  } catch {
    broken.add(stream);
  }
}

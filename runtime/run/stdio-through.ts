/**
 * Routes what a worker's code writes to process.stdout and process.stderr
 * (console.log included) through the channel its ctx.log lines take, so the
 * host receives both in the order they were written. A worker's own stdio
 * travels on a channel of its own, and a console line written between two
 * ctx.log lines arrived after both, in the run's output and in tasks.log.
 *
 * Writes are gathered until the current job of the event loop ends (a loop
 * printing 200,000 lines sends one message, not 200,000), and sent before any
 * other message the worker posts: the entry's `post` calls the returned flush.
 */
import { Buffer } from "node:buffer";
import { StringDecoder } from "node:string_decoder";

export type StdioStream = "stdout" | "stderr";
export type StdioChunks = Array<[StdioStream, string]>;

/** Replaces both streams' `write`; returns the flush to call before posting anything else. */
export function stdioThrough(send: (chunks: StdioChunks) => void): () => void {
  let pending: StdioChunks = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const chunks = pending;
    pending = [];
    send(chunks);
  };
  for (const stream of ["stdout", "stderr"] as const) {
    const target = process[stream];
    // A multi-byte character may be split across two writes of bytes.
    const decoder = new StringDecoder("utf8");
    target.write = ((chunk: unknown, encoding?: unknown, callback?: unknown) => {
      const done = typeof encoding === "function" ? encoding : typeof callback === "function" ? callback : undefined;
      const text =
        typeof chunk === "string"
          ? typeof encoding === "string" && !/^utf-?8$/i.test(encoding)
            ? Buffer.from(chunk, encoding as BufferEncoding).toString("utf8")
            : chunk
          : decoder.write(Buffer.from(chunk as Uint8Array));
      if (text !== "") {
        const last = pending.at(-1);
        if (last && last[0] === stream) last[1] += text;
        else pending.push([stream, text]);
        if (!scheduled) {
          scheduled = true;
          queueMicrotask(flush);
        }
      }
      if (done) process.nextTick(done as () => void);
      return true;
    }) as typeof target.write;
  }
  // process.exit() in task code ends the thread before a microtask: what it printed last still goes.
  process.on("exit", flush);
  return flush;
}

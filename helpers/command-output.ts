/**
 * What {@link executeCommand} does with a command's output: keeps it, capped
 * (CappedOutput), and with `logOutput` also logs it line by line as it comes
 * (OutputLines), so a run that is stopped while its command runs keeps in
 * its log what the command printed until then.
 */
import { StringDecoder } from "node:string_decoder";
import { LineSplitter } from "../runtime/util/line-splitter.ts";
import { log } from "./logging.ts";

/** Keeps the head and the tail of a stream when it grows past its cap. */
export class CappedOutput {
  private head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private dropped = 0;

  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    const half = Math.floor(this.cap / 2);
    if (this.headBytes < this.cap - half) {
      const take = chunk.subarray(0, this.cap - half - this.headBytes);
      this.head.push(take);
      this.headBytes += take.length;
      chunk = chunk.subarray(take.length);
    }
    if (chunk.length === 0) return;
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tailBytes > half && this.tail.length > 0) {
      const first = this.tail[0]!;
      const excess = this.tailBytes - half;
      if (first.length <= excess) {
        this.tail.shift();
        this.tailBytes -= first.length;
        this.dropped += first.length;
      } else {
        this.tail[0] = first.subarray(excess);
        this.tailBytes -= excess;
        this.dropped += excess;
      }
    }
  }

  get truncated(): boolean {
    return this.dropped > 0;
  }

  toString(): string {
    const head = Buffer.concat(this.head).toString("utf8");
    const tail = Buffer.concat(this.tail).toString("utf8");
    return this.dropped > 0 ? `${head}\n…[${this.dropped} bytes omitted]…\n${tail}` : head + tail;
  }
}

/** A partial line (a prompt, a progress bar) is logged once the command has been quiet this long. */
const QUIET_FLUSH_MS = 1000;

interface StreamLines {
  decoder: StringDecoder;
  lines: LineSplitter;
  /** Bytes logged so far; past the budget, nothing more is. */
  bytes: number;
  quiet?: NodeJS.Timeout;
}

/**
 * Each line of a command's stdout logged at info and of its stderr at warn, as it arrives (the
 * run's log, inside a run), at most `maxBytes` of each: a command that prints megabytes fills
 * neither the task log nor the host's messages (the result keeps their head and tail).
 */
export class OutputLines {
  private readonly streams: Record<"stdout" | "stderr", StreamLines>;

  constructor(private readonly maxBytes: number) {
    const stream = (write: (line: string) => void): StreamLines => {
      const entry: StreamLines = { decoder: new StringDecoder("utf8"), bytes: 0, lines: new LineSplitter((line) => this.log(entry, line, write)) };
      return entry;
    };
    this.streams = { stdout: stream((line) => log.info(line)), stderr: stream((line) => log.warn(line)) };
  }

  push(name: "stdout" | "stderr", chunk: Buffer): void {
    const stream = this.streams[name];
    stream.lines.push(stream.decoder.write(chunk));
    clearTimeout(stream.quiet);
    // A line without its newline yet is not lost if the run is ended while the command waits.
    if (stream.lines.pending) stream.quiet = setTimeout(() => stream.lines.end(), QUIET_FLUSH_MS).unref();
  }

  /** The command ended: a last line without a newline is logged too. */
  end(): void {
    for (const stream of Object.values(this.streams)) {
      clearTimeout(stream.quiet);
      stream.lines.push(stream.decoder.end());
      stream.lines.end();
    }
  }

  private log(stream: StreamLines, line: string, write: (line: string) => void): void {
    if (stream.bytes > this.maxBytes) return;
    stream.bytes += Buffer.byteLength(line) + 1;
    if (stream.bytes > this.maxBytes) write(`… more output not logged (over maxOutputBytes, ${this.maxBytes} bytes; the result keeps its head and tail)`);
    else write(line);
  }
}

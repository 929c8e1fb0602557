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

/** Each line of a command's stdout logged at info and of its stderr at warn, as it arrives (the run's log, inside a run). */
export class OutputLines {
  private readonly streams = {
    stdout: { decoder: new StringDecoder("utf8"), lines: new LineSplitter((line) => log.info(line)) },
    stderr: { decoder: new StringDecoder("utf8"), lines: new LineSplitter((line) => log.warn(line)) },
  };

  push(stream: "stdout" | "stderr", chunk: Buffer): void {
    const { decoder, lines } = this.streams[stream];
    lines.push(decoder.write(chunk));
  }

  /** The command ended: a last line without a newline is logged too. */
  end(): void {
    for (const { decoder, lines } of Object.values(this.streams)) {
      lines.push(decoder.end());
      lines.end();
    }
  }
}

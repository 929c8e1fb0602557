import { StringDecoder } from "node:string_decoder";

/**
 * The end of what a host wrote on stderr: an uncaught error's stack, or Node's
 * own fatal message, is the best account of a crash there is (the host cannot
 * log what kills it).
 */
export class OutputTail {
  private text = "";
  /** A character split between two chunks is decoded whole. */
  private readonly decoder = new StringDecoder("utf8");

  constructor(
    private readonly maxLines = 12,
    private readonly maxChars = 4000,
  ) {}

  push(chunk: Buffer): void {
    this.text = (this.text + this.decoder.write(chunk)).slice(-this.maxChars);
  }

  /** The last lines written (not blank), oldest first; "" when nothing was. */
  lines(): string {
    return this.text
      .split(/\r?\n/)
      .filter((line) => line.trim() !== "")
      .slice(-this.maxLines)
      .join("\n");
  }
}

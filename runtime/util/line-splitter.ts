/** Longest line passed on; the rest of a longer one is dropped (a task printing megabytes without a newline). */
export const MAX_LINE_CHARS = 16 * 1024;

/**
 * Turns a stream of text chunks into whole lines (the last partial line waits).
 * A line longer than `maxChars` is cut there, with a note of how much was cut,
 * so the carry (and each log line) stays bounded whatever the task writes.
 */
export class LineSplitter {
  private carry = "";
  /** Characters of the current line dropped beyond maxChars. */
  private cut = 0;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxChars = MAX_LINE_CHARS,
  ) {}

  push(chunk: string): void {
    let start = 0;
    for (let nl = chunk.indexOf("\n"); nl !== -1; nl = chunk.indexOf("\n", start)) {
      this.take(chunk.slice(start, nl));
      this.emit();
      start = nl + 1;
    }
    this.take(chunk.slice(start));
  }

  end(): void {
    if (this.pending) this.emit();
  }

  /** A partial line waits for its newline. */
  get pending(): boolean {
    return this.carry !== "" || this.cut > 0;
  }

  private take(text: string): void {
    const room = this.maxChars - this.carry.length;
    if (text.length <= room) this.carry += text;
    else {
      this.carry += text.slice(0, room);
      this.cut += text.length - room;
    }
  }

  private emit(): void {
    const line = this.carry.endsWith("\r") ? this.carry.slice(0, -1) : this.carry;
    this.onLine(this.cut ? `${line} … (${this.cut} more characters of this line cut)` : line);
    this.carry = "";
    this.cut = 0;
  }
}

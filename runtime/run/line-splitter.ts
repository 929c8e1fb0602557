/** Turns a stream of text chunks into whole lines (the last partial line waits). */
export class LineSplitter {
  private carry = "";
  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string): void {
    const parts = (this.carry + chunk).split("\n");
    this.carry = parts.pop() ?? "";
    for (const line of parts) this.onLine(line.endsWith("\r") ? line.slice(0, -1) : line);
  }

  end(): void {
    if (this.carry) this.onLine(this.carry);
    this.carry = "";
  }
}

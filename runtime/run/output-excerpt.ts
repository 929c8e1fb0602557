/**
 * Keeps the head and the tail of a run's output within a fixed budget, so a
 * task that floods stdout costs the host bounded memory and the ledger keeps
 * both how the run began and how it ended.
 */
export class OutputExcerpt {
  private head = "";
  private tail = "";
  private omitted = 0;

  constructor(private readonly budget = 8 * 1024) {}

  append(text: string): void {
    const half = this.budget / 2;
    if (this.head.length < half) {
      const take = text.slice(0, half - this.head.length);
      this.head += take;
      text = text.slice(take.length);
    }
    if (!text) return;
    this.tail += text;
    // Trimmed only once it holds twice its share: trimming on every line of a flood
    // copied the whole tail per line (200,000 lines blocked the host for a second).
    if (this.tail.length > 2 * half) this.trim();
  }

  private trim(): void {
    const half = this.budget / 2;
    if (this.tail.length <= half) return;
    this.omitted += this.tail.length - half;
    this.tail = this.tail.slice(this.tail.length - half);
  }

  toString(): string {
    this.trim();
    if (this.omitted === 0) return this.head + this.tail;
    return `${this.head}\n… ${this.omitted} characters omitted …\n${this.tail}`;
  }
}

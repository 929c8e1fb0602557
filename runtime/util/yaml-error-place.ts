/**
 * Where a YAML syntax error is, for people. The parser reports an unclosed `[`,
 * `{` or quote where it gave up (the next key, or the end of the text), which
 * sends people to a line that is fine; this finds the opener instead. Shared by
 * config.yaml and task frontmatter.
 */

/** The parser's message, without its own (block-relative) " at line N, column M". */
export function yamlMessage(message: string): string {
  return message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
}

/** Offset of the `[`, `{` or quote that the parser error at `offset` left unclosed, or undefined if it is not about one. */
export function unclosedOpener(source: string, message: string, offset: number): number | undefined {
  if (/^Flow (sequence|map)/.test(message)) return lastOpenFlow(source, offset);
  const quote = /Missing closing (["'])quote/.exec(message);
  return quote ? lastOpenQuote(source, offset, quote[1]!) : undefined;
}

/** The innermost `[`/`{` left open before `end` (quotes and comments skipped). */
function lastOpenFlow(text: string, end: number): number | undefined {
  const open: number[] = [];
  let quote: string | null = null;
  for (let i = 0; i < end; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]!))) i = text.indexOf("\n", i) < 0 ? end : text.indexOf("\n", i);
    else if (c === "[" || c === "{") open.push(i);
    else if ((c === "]" || c === "}") && open.length > 0) open.pop();
  }
  return open.at(-1);
}

/** The last quote before `end` on a line that opens a quoted scalar without closing it. */
function lastOpenQuote(text: string, end: number, quote: string): number | undefined {
  let lineEnd = end;
  while (lineEnd > 0) {
    const lineStart = text.lastIndexOf("\n", lineEnd - 1) + 1;
    const line = text.slice(lineStart, lineEnd);
    const quotes = [...line.matchAll(quote === '"' ? /(?<!\\)"/g : /'/g)].map((m) => m.index);
    if (quotes.length % 2 === 1) return lineStart + quotes.at(-1)!;
    lineEnd = lineStart - 1;
  }
  return undefined;
}

/**
 * The widths of a PDF report's columns (toPdf): a pure decision from measured
 * text widths, so that the table never runs off the page.
 *
 * A column gets its widest cell when everything fits. Otherwise number columns
 * keep theirs (figures do not wrap) and the text columns share what is left
 * max-min fairly: a column narrower than its share keeps its width, the others
 * split the rest equally (they wrap, and a word longer than its column breaks
 * anywhere). null: not even MIN_TEXT_WIDTH per text column is left.
 */
export interface ColumnMeasure {
  /** Width of the widest cell (header included), at font size 1. */
  natural: number;
  /** Whether every value is a number: its width is kept. */
  numeric: boolean;
}

/** Narrowest a text column is squeezed to, in points: about seven characters at 9 pt. */
export const MIN_TEXT_WIDTH = 36;

export function columnWidths(columns: readonly ColumnMeasure[], fontSize: number, space: number): number[] | null {
  const natural = columns.map((c) => c.natural * fontSize);
  if (natural.reduce((a, b) => a + b, 0) <= space) return natural;
  const widths = columns.map((c, i) => (c.numeric ? natural[i]! : 0));
  let left = space - widths.reduce((a, b) => a + b, 0);
  const flexible = columns.map((_, i) => i).filter((i) => !columns[i]!.numeric);
  if (left < 0 || left < MIN_TEXT_WIDTH * flexible.length) return null;
  // Narrowest first: each takes its own width while that is under an equal share of what is left.
  flexible.sort((a, b) => natural[a]! - natural[b]!);
  for (const [n, i] of flexible.entries()) {
    const share = left / (flexible.length - n);
    widths[i] = Math.min(natural[i]!, share);
    left -= widths[i]!;
  }
  return widths;
}

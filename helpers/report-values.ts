/** A query's rows in reports (toXlsx, toPdf, toCsv): which columns, and each value as text. */

/** Every key of the rows, in the order they first appear (a key only later rows have is not dropped). */
export function defaultColumns(rows: readonly Record<string, unknown>[]): string[] {
  const seen = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) seen.add(key);
  return [...seen];
}

/** A value as text in a report (a PDF cell, an Excel column's width): dates in ISO-8601, blobs in base64, objects as JSON. */
export function cellText(value: unknown): string {
  if (value == null) return "";
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  // JSON has no bigint: one inside an object prints as its digits.
  if (typeof value === "object") return JSON.stringify(value, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  return String(value);
}

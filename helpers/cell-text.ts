/** A query value as text in a report (a PDF cell, an Excel column's width): dates in ISO-8601, blobs in base64, objects as JSON. */
export function cellText(value: unknown): string {
  if (value == null) return "";
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

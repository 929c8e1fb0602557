/** A value as an error message quotes it: "nothing", "a list", "a mapping", a date, or the value itself. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (v instanceof Date) return `the date ${v.toISOString()}`;
  if (typeof v === "object") return "a mapping";
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

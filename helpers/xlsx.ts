import type * as ExcelJS from "exceljs";
import { cellText, defaultColumns } from "./report-values.ts";
import { requireHostModule } from "./host-modules.ts";

export interface XlsxOptions {
  /** Column order and header row; default every key of the rows, in the order they first appear. */
  columns?: readonly string[];
  /** Worksheet name; default "Sheet1". */
  sheet?: string;
}

/**
 * Rows as an Excel workbook (.xlsx), through exceljs from taskhost's own
 * installation: a header row in bold, frozen, columns sized to their content.
 * Numbers stay numbers, `Date`s become dates. Pair it with `toCsv` and
 * `sendEmail` to mail a query's result.
 *
 * @example
 * const xlsx = await toXlsx(rows, { sheet: "Sales" });
 * await sendEmail({ to: "boss@example.com", subject: "Sales", text: "Attached.", attachments: [{ filename: "sales.xlsx", content: xlsx }] });
 */
export async function toXlsx(rows: readonly Record<string, unknown>[], options: XlsxOptions = {}): Promise<Buffer> {
  const { Workbook } = requireHostModule<typeof ExcelJS>("exceljs");
  const columns = options.columns ?? defaultColumns(rows);
  const workbook = new Workbook();
  workbook.creator = "taskhost";
  const sheet = workbook.addWorksheet(options.sheet ?? "Sheet1", { views: [{ state: "frozen", ySplit: 1 }] });
  sheet.columns = columns.map((key) => ({ header: key, key, width: Math.min(60, Math.max(key.length, ...rows.map((r) => cellText(r[key]).length)) + 2) }));
  sheet.getRow(1).font = { bold: true };
  for (const row of rows) sheet.addRow(Object.fromEntries(columns.map((c) => [c, cellValue(row[c])])));
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

function cellValue(value: unknown): ExcelJS.CellValue {
  if (value == null) return null;
  if (typeof value === "number" || typeof value === "string" || typeof value === "boolean" || value instanceof Date) return value;
  if (typeof value === "bigint") return Number(value);
  return cellText(value);
}

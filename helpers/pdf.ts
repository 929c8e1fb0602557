import path from "node:path";
import type * as PdfMake from "pdfmake";
import type { Content, CustomTableLayout, TableCell } from "pdfmake";
import { cellText, defaultColumns } from "./report-values.ts";
import { columnWidths } from "./pdf-columns.ts";
import { chosenFontFiles, missingGlyphError, openFace, robotoFiles, type FontFace } from "./pdf-fonts.ts";
import { requireHostModule } from "./host-modules.ts";

export interface PdfOptions {
  /** Column order and header row; default every key of the rows, in the order they first appear. */
  columns?: readonly string[];
  /** A heading above the table, and the document's title. */
  title?: string;
  /** A line under the title (the period a report covers, say). */
  subtitle?: string;
  /** Default: landscape when there are more than 6 columns. */
  landscape?: boolean;
  /** Default "A4". */
  pageSize?: "A4" | "A3" | "LETTER" | "LEGAL";
  /**
   * TrueType/OpenType files (relative to the project root, or absolute) for text
   * the default Roboto cannot show (it has Latin, Greek and Cyrillic letters);
   * `bold`, for the header row and the title, defaults to `normal`.
   */
  font?: { normal: string; bold?: string };
}

/** Page sizes in points, portrait (pdfmake's). */
const PAGE_SIZES = { A4: [595.28, 841.89], A3: [841.89, 1190.55], LETTER: [612, 792], LEGAL: [612, 1008] } as const;
const MARGIN = 36;
/** Space between two columns, in points (half on each side). */
const GAP = 8;
/** Font sizes tried, largest first, until the columns fit across the page. */
const FONT_SIZES = [9, 8, 7, 6];

const LAYOUT: CustomTableLayout = {
  hLineWidth: (i, node) => (i === 0 || i === node.table.body.length ? 0 : i === 1 ? 1.5 : 0.5),
  vLineWidth: () => 0,
  hLineColor: (i) => (i === 1 ? "#333333" : "#cccccc"),
  paddingLeft: (i) => (i === 0 ? 0 : GAP / 2),
  paddingRight: (i, node) => (i === (node.table.widths?.length ?? 0) - 1 ? 0 : GAP / 2),
};

/**
 * Rows as a PDF report (a Buffer), through pdfmake from taskhost's own
 * installation: an optional title, a table whose header row repeats on every
 * page, numbers right-aligned, "page / pages" at the foot. Columns are sized to
 * fit across the page (text wraps, a word too long for its column breaks, and
 * the type gets smaller, down to 6 pt, before anything would be cut off); a row
 * taller than a page goes on over the next. The text is set in Roboto (Latin, Greek,
 * Cyrillic), embedded, so it reads the same everywhere; `font` takes another for
 * other scripts. A character the font lacks is an error naming it and where it
 * is, not a blank in the report.
 *
 * @example
 * const pdf = await toPdf(rows, { title: "Sales", subtitle: `Since ${since}` });
 * await sendEmail({ to: "boss@example.com", subject: "Sales", text: "Attached.", attachments: [{ filename: "sales.pdf", content: pdf }] });
 */
export async function toPdf(rows: readonly Record<string, unknown>[], options: PdfOptions = {}): Promise<Buffer> {
  if (!Array.isArray(rows)) throw new TypeError(`taskhost helpers: toPdf: rows must be an array of objects (one per row), not ${typeof rows}`);
  const columns = options.columns ?? defaultColumns(rows);
  const body: string[][] = [[...columns], ...rows.map((row) => columns.map((c) => cellText(row[c])))];
  const fonts = options.font ? chosenFontFiles(options.font) : robotoFiles();
  const regular = openFace(fonts.normal, "font.normal");
  const bold = openFace(fonts.bold, "font.bold");
  const fontLabel = (face: FontFace) => (options.font ? path.basename(face.file) : "Roboto, which has Latin, Greek and Cyrillic letters");
  for (const { text, where, isBold } of textsOf(options, body, columns)) checkFontHas(isBold ? bold : regular, text, where, fontLabel);

  const numeric = columns.map((c) => rows.some((r) => r[c] != null) && rows.every((r) => r[c] == null || typeof r[c] === "number" || typeof r[c] === "bigint"));
  const measures = columns.map((_, i) => {
    // A loop, not Math.max(...): a spread of 100,000s of rows overflows the stack.
    let natural = 0;
    for (const [row, cells] of body.entries()) natural = Math.max(natural, lineWidth(row === 0 ? bold : regular, cells[i]!));
    return { numeric: numeric[i]!, natural };
  });
  const landscape = options.landscape ?? columns.length > 6;
  const [short, long] = PAGE_SIZES[options.pageSize ?? "A4"];
  const space = (landscape ? long : short) - 2 * MARGIN - GAP * Math.max(0, columns.length - 1);
  const fit = fitColumns(measures, space);
  if (!fit) {
    const size = options.pageSize ?? "A4";
    const ways = ["choose fewer with `columns`", ...(landscape ? [] : ["give `landscape: true`"]), ...(size === "A3" ? [] : ["a larger `pageSize` (`A3`)"])];
    throw new Error(
      `taskhost helpers: toPdf: ${columns.length} columns do not fit across ${landscape ? "a landscape" : "a portrait"} ${size} page even at ${FONT_SIZES.at(-1)} pt; ` +
        `${ways.slice(0, -1).join(", ")}${ways.length > 1 ? " or " : ""}${ways.at(-1)}`,
    );
  }
  const { fontSize, widths } = fit;
  // pdfmake wraps at spaces and hyphens, and breaks a word wider than its column where it must.
  const cell = (text: string, i: number, isBold: boolean): TableCell => ({
    text,
    alignment: numeric[i] ? "right" : "left",
    ...(isBold ? { bold: true, fillColor: "#eeeeee" } : {}),
  });
  const table: TableCell[][] = body.map((cells, row) => cells.map((text, i) => cell(text, i, row === 0)));
  const content: Content[] = [];
  if (options.title) content.push({ text: options.title, fontSize: 14, bold: true, margin: [0, 0, 0, options.subtitle ? 2 : 8] });
  if (options.subtitle) content.push({ text: options.subtitle, color: "#555555", margin: [0, 0, 0, 8] });
  if (columns.length === 0) content.push({ text: "No rows." });
  else content.push({ table: { headerRows: 1, widths, body: table }, layout: LAYOUT, fontSize });

  const pdfmake = requireHostModule<typeof PdfMake>("pdfmake");
  const allowed = new Set(Object.values(fonts));
  // Nothing in a report fetches a URL or reads a file but its fonts.
  pdfmake.setUrlAccessPolicy(() => false);
  pdfmake.setLocalAccessPolicy((file) => allowed.has(file));
  pdfmake.setFonts({ Report: fonts });
  return pdfmake
    .createPdf({
      pageSize: options.pageSize ?? "A4",
      pageOrientation: landscape ? "landscape" : "portrait",
      pageMargins: [MARGIN, MARGIN, MARGIN, MARGIN + 4],
      info: { title: options.title ?? "Report", creator: "taskhost", producer: "taskhost (pdfmake)" },
      defaultStyle: { font: "Report", fontSize: 9 },
      footer: (page, pages) => ({ text: `${page} / ${pages}`, alignment: "right", fontSize: 8, color: "#555555", margin: [MARGIN, 12, MARGIN, 0] }),
      content,
    })
    .getBuffer();
}

/** The largest font size at which the columns fit across the page, and their widths. */
function fitColumns(measures: Parameters<typeof columnWidths>[0], space: number): { fontSize: number; widths: number[] } | null {
  for (const fontSize of FONT_SIZES) {
    const widths = columnWidths(measures, fontSize, space);
    if (widths) return { fontSize, widths };
  }
  return null;
}

/** The widest line of a cell, at size 1, with a point's slack for rounding. */
function lineWidth(face: FontFace, text: string): number {
  return Math.max(0, ...text.split("\n").map((line) => face.width(line))) + 0.1;
}

/** Every text of the report, with where it is (for the error's message) and whether it is set in bold. */
function* textsOf(options: PdfOptions, body: readonly string[][], columns: readonly string[]): Generator<{ text: string; where: string; isBold: boolean }> {
  if (options.title) yield { text: options.title, where: "the title", isBold: true };
  if (options.subtitle) yield { text: options.subtitle, where: "the subtitle", isBold: false };
  for (const [row, cells] of body.entries()) {
    for (const [i, text] of cells.entries()) {
      yield { text, where: row === 0 ? `the column name "${text}"` : `rows[${row - 1}], column "${columns[i]}"`, isBold: row === 0 };
    }
  }
}

/** A font prints what it lacks as a blank or a box: say what, where, and what to do, instead. */
function checkFontHas(face: FontFace, text: string, where: string, fontLabel: (face: FontFace) => string): void {
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code >= 0x20 && !face.has(code)) throw missingGlyphError(char, where, fontLabel(face));
  }
}

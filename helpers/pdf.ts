import { existsSync } from "node:fs";
import path from "node:path";
import type * as FontKit from "fontkit";
import type * as PdfMake from "pdfmake";
import type { Content, TableCell } from "pdfmake";
import { cellText } from "./cell-text.ts";
import { hostPackageDir, requireHostModule } from "./host-modules.ts";
import { getProjectRoot } from "./project-root.ts";

export interface PdfOptions {
  /** Column order and header row; default the keys of the first row. */
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
   * TrueType/OpenType files (relative to the project root) for text the default
   * Roboto cannot show (it has Latin, Greek and Cyrillic letters); `bold`, for the
   * header row and the title, defaults to `normal`.
   */
  font?: { normal: string; bold?: string };
}

/** Fonts with broad coverage, where operating systems put them: one that has a missing character is suggested in the error. */
const SYSTEM_FONTS = [
  "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/TTF/DejaVuSans.ttf",
  "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
  "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
  "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
  "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
  "/Library/Fonts/Arial Unicode.ttf",
  "C:\\Windows\\Fonts\\arialuni.ttf",
];

/**
 * Rows as a PDF report (a Buffer), through pdfmake from taskhost's own
 * installation: an optional title, a table whose header row repeats on every
 * page, numbers right-aligned, long text wrapped, "page / pages" at the foot.
 * The text is set in Roboto (Latin, Greek, Cyrillic), embedded, so it reads the
 * same everywhere; `font` takes another for other scripts. A character the font
 * lacks is an error naming it and where it is, not a blank in the report.
 *
 * @example
 * const pdf = await toPdf(rows, { title: "Sales", subtitle: `Since ${since}` });
 * await sendEmail({ to: "boss@example.com", subject: "Sales", text: "Attached.", attachments: [{ filename: "sales.pdf", content: pdf }] });
 */
export async function toPdf(rows: readonly Record<string, unknown>[], options: PdfOptions = {}): Promise<Buffer> {
  const columns = options.columns ?? Object.keys(rows[0] ?? {});
  const body: string[][] = [[...columns], ...rows.map((row) => columns.map((c) => cellText(row[c])))];
  const fonts = options.font ? fontFiles(options.font) : robotoFiles();
  checkFontHas(fonts, textsOf(options, body, columns), options.font != null);
  const numeric = columns.map((c) => rows.some((r) => r[c] != null) && rows.every((r) => r[c] == null || typeof r[c] === "number" || typeof r[c] === "bigint"));
  const header: TableCell[] = columns.map((c) => ({ text: c, bold: true, fillColor: "#eeeeee" }));
  const table: TableCell[][] = [header, ...body.slice(1).map((cells) => cells.map((text, i): TableCell => ({ text, alignment: numeric[i] ? "right" : "left" })))];
  const content: Content[] = [];
  if (options.title) content.push({ text: options.title, fontSize: 14, bold: true, margin: [0, 0, 0, options.subtitle ? 2 : 8] });
  if (options.subtitle) content.push({ text: options.subtitle, color: "#555555", margin: [0, 0, 0, 8] });
  if (columns.length === 0) content.push({ text: "No rows." });
  else content.push({ table: { headerRows: 1, dontBreakRows: true, widths: numeric.map((n) => (n ? "auto" : "*")), body: table }, layout: "lightHorizontalLines" });

  const pdfmake = requireHostModule<typeof PdfMake>("pdfmake");
  const allowed = new Set(Object.values(fonts));
  // Nothing in a report fetches a URL or reads a file but its fonts.
  pdfmake.setUrlAccessPolicy(() => false);
  pdfmake.setLocalAccessPolicy((file) => allowed.has(file));
  pdfmake.setFonts({ Report: fonts });
  return pdfmake
    .createPdf({
      pageSize: options.pageSize ?? "A4",
      pageOrientation: (options.landscape ?? columns.length > 6) ? "landscape" : "portrait",
      pageMargins: [36, 36, 36, 40],
      info: { title: options.title ?? "Report", creator: "taskhost", producer: "taskhost (pdfmake)" },
      defaultStyle: { font: "Report", fontSize: 9 },
      footer: (page, pages) => ({ text: `${page} / ${pages}`, alignment: "right", fontSize: 8, color: "#555555", margin: [36, 12, 36, 0] }),
      content,
    })
    .getBuffer();
}

interface FontFiles {
  normal: string;
  bold: string;
  italics: string;
  bolditalics: string;
}

/** pdfmake's own Roboto (in its package): always there, whatever the machine has. */
function robotoFiles(): FontFiles {
  const dir = path.join(hostPackageDir("pdfmake"), "fonts", "Roboto");
  const file = (name: string) => path.join(dir, `Roboto-${name}.ttf`);
  return { normal: file("Regular"), bold: file("Medium"), italics: file("Italic"), bolditalics: file("MediumItalic") };
}

function fontFiles(font: NonNullable<PdfOptions["font"]>): FontFiles {
  const resolve = (file: string, key: string) => {
    const full = path.resolve(getProjectRoot(), file);
    if (!existsSync(full)) throw new Error(`taskhost helpers: toPdf: the file of font.${key} was not found: ${full}`);
    return full;
  };
  const normal = resolve(font.normal, "normal");
  const bold = font.bold ? resolve(font.bold, "bold") : normal;
  return { normal, bold, italics: normal, bolditalics: bold };
}

/** Every text of the report, with where it is (for the error's message) and whether it is set in bold. */
function* textsOf(options: PdfOptions, body: readonly string[][], columns: readonly string[]): Generator<{ text: string; where: string; bold: boolean }> {
  if (options.title) yield { text: options.title, where: "the title", bold: true };
  if (options.subtitle) yield { text: options.subtitle, where: "the subtitle", bold: false };
  for (const [row, cells] of body.entries()) {
    for (const [i, text] of cells.entries()) yield { text, where: row === 0 ? `the column name "${text}"` : `row ${row}, column "${columns[i]}"`, bold: row === 0 };
  }
}

/** A font prints what it lacks as a blank or a box: say what, where, and what to do, instead. */
function checkFontHas(fonts: FontFiles, texts: Iterable<{ text: string; where: string; bold: boolean }>, chosen: boolean): void {
  const fontkit = requireHostModule<typeof FontKit>("fontkit");
  const faces = new Map<string, FontKit.Font>();
  const face = (file: string) => {
    let known = faces.get(file);
    if (!known) {
      const opened = fontkit.openSync(file);
      if (!("hasGlyphForCodePoint" in opened)) throw new Error(`taskhost helpers: toPdf: ${file} is a font collection; give one font of it as a .ttf or .otf file`);
      faces.set(file, (known = opened));
    }
    return known;
  };
  for (const { text, where, bold } of texts) {
    const file = bold ? fonts.bold : fonts.normal;
    const font = face(file);
    for (const char of text) {
      const code = char.codePointAt(0)!;
      if (code < 0x20 || font.hasGlyphForCodePoint(code)) continue;
      const other = SYSTEM_FONTS.find((file) => existsSync(file) && face(file).hasGlyphForCodePoint(code));
      throw new Error(
        `taskhost helpers: toPdf: "${char}" (U+${code.toString(16).toUpperCase().padStart(4, "0")}, in ${where}) is not in the font ${chosen ? path.basename(file) : "Roboto, which has Latin, Greek and Cyrillic letters"}; ` +
          `give toPdf a TrueType font that has it: { font: { normal: "${other ?? "path/to/font.ttf"}" } }`,
      );
    }
  }
}

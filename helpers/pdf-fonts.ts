/** The fonts of toPdf's reports: which files, and what they can show and how wide. */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import type * as FontKit from "fontkit";
import { hostPackageDir, requireHostModule } from "./host-modules.ts";
import { getProjectRoot } from "./project-root.ts";

export interface FontFiles {
  normal: string;
  bold: string;
  italics: string;
  bolditalics: string;
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

/** pdfmake's own Roboto (in its package): always there, whatever the machine has. */
export function robotoFiles(): FontFiles {
  const dir = path.join(hostPackageDir("pdfmake"), "fonts", "Roboto");
  const file = (name: string) => path.join(dir, `Roboto-${name}.ttf`);
  return { normal: file("Regular"), bold: file("Medium"), italics: file("Italic"), bolditalics: file("MediumItalic") };
}

/** The files of toPdf's `font` option, relative to the project root, each checked to be a font. */
export function chosenFontFiles(font: { normal: string; bold?: string }): FontFiles {
  const resolve = (file: string | undefined, key: string) => {
    if (typeof file !== "string" || file.trim() === "") throw new Error(`taskhost helpers: toPdf: font.${key} must be the path of a .ttf or .otf file`);
    const full = path.resolve(getProjectRoot(), file);
    if (!existsSync(full)) throw new Error(`taskhost helpers: toPdf: the file of font.${key} was not found: ${full}`);
    if (!statSync(full).isFile()) throw new Error(`taskhost helpers: toPdf: font.${key} is not a file: ${full}`);
    openFace(full, `font.${key}`);
    return full;
  };
  const normal = resolve(font.normal, "normal");
  const bold = font.bold === undefined ? normal : resolve(font.bold, "bold");
  return { normal, bold, italics: normal, bolditalics: bold };
}

/** A font file as fontkit reads it: whether it has a character, and text widths at size 1. */
export interface FontFace {
  file: string;
  has(codePoint: number): boolean;
  /** Width of a line of text at font size 1, in points (kerning left out: a little wider than set). */
  width(text: string): number;
}

const faces = new Map<string, FontFace>();

/** The face of `file`, read once per worker; `what` names it in the error (`font.normal`). */
export function openFace(file: string, what: string): FontFace {
  const known = faces.get(file);
  if (known) return known;
  let opened: FontKit.Font | FontKit.FontCollection;
  try {
    opened = requireHostModule<typeof FontKit>("fontkit").openSync(file);
  } catch (error) {
    throw new Error(`taskhost helpers: toPdf: ${what} (${file}) is not a TrueType or OpenType font: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!("hasGlyphForCodePoint" in opened)) throw new Error(`taskhost helpers: toPdf: ${what} (${file}) is a font collection; give one font of it as a .ttf or .otf file`);
  const font = opened;
  const advances = new Map<number, number>();
  const face: FontFace = {
    file,
    has: (codePoint) => font.hasGlyphForCodePoint(codePoint),
    width(text) {
      let units = 0;
      for (const char of text) {
        const code = char.codePointAt(0)!;
        let advance = advances.get(code);
        if (advance === undefined) advances.set(code, (advance = font.glyphForCodePoint(code).advanceWidth));
        units += advance;
      }
      return units / font.unitsPerEm;
    },
  };
  faces.set(file, face);
  return face;
}

/** A character the report's font lacks: what, where, and a font on this machine that has it. */
export function missingGlyphError(char: string, where: string, fontLabel: string): Error {
  const code = char.codePointAt(0)!;
  const other = SYSTEM_FONTS.find((file) => {
    try {
      return existsSync(file) && openFace(file, file).has(code);
    } catch {
      return false;
    }
  });
  return new Error(
    `taskhost helpers: toPdf: "${char}" (U+${code.toString(16).toUpperCase().padStart(4, "0")}, in ${where}) is not in the font ${fontLabel}; ` +
      `give toPdf a TrueType font that has it: { font: { normal: "${other ?? "path/to/font.ttf"}" } }`,
  );
}

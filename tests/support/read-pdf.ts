/**
 * Reads a PDF back as Firefox's PDF.js does (pdfjs-dist, independent of the
 * pdfmake/pdfkit that wrote it): each page's text pieces with their positions.
 */
import { getDocument } from "pdfjs-dist/legacy/build/pdf.mjs";

export interface PdfText {
  str: string;
  /** Left edge and baseline, in points from the page's bottom-left corner. */
  x: number;
  y: number;
  width: number;
}

export interface PdfRead {
  title: string | undefined;
  pages: Array<{ width: number; height: number; texts: PdfText[] }>;
}

export async function readPdf(data: Uint8Array): Promise<PdfRead> {
  const pdf = await getDocument({ data: new Uint8Array(data), verbosity: 0, isEvalSupported: false }).promise;
  try {
    const { info } = (await pdf.getMetadata()) as { info: { Title?: string } };
    const pages: PdfRead["pages"] = [];
    for (let n = 1; n <= pdf.numPages; n++) {
      const page = await pdf.getPage(n);
      const [, , width, height] = page.view as [number, number, number, number];
      const content = await page.getTextContent();
      const texts: PdfText[] = [];
      for (const item of content.items) {
        if (!("str" in item) || item.str.trim() === "") continue;
        texts.push({ str: item.str, x: item.transform[4] as number, y: item.transform[5] as number, width: item.width });
      }
      pages.push({ width, height, texts });
    }
    return { title: info.Title, pages };
  } finally {
    await pdf.destroy();
  }
}

/** A page's text as lines, top to bottom, each line's pieces left to right and joined by a space. */
export function pageLines(texts: readonly PdfText[]): string[] {
  const rows = new Map<number, PdfText[]>();
  for (const text of texts) {
    const y = Math.round(text.y);
    rows.set(y, [...(rows.get(y) ?? []), text]);
  }
  return [...rows.entries()]
    .sort(([a], [b]) => b - a)
    .map(([, pieces]) => pieces.sort((a, b) => a.x - b.x).map((p) => p.str).join(" "));
}

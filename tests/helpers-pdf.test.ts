import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { toPdf } from "../helpers/index.ts";
import { useTempRoot } from "./fixtures/helpers/project-env.ts";
import { pageLines, readPdf } from "./support/read-pdf.ts";
import { REPO } from "./support/temp-project.ts";

/** toPdf's reports, read back with PDF.js (pdfjs-dist), which did not write them. */
describe("toPdf", () => {
  let env: Awaited<ReturnType<typeof useTempRoot>>;
  beforeEach(async () => {
    env = await useTempRoot();
  });
  afterEach(async () => {
    await env.dispose();
  });

  const sales = Array.from({ length: 120 }, (_, i) => ({
    region: ["north", "Zürich", "Αθήνα", "Москва"][i % 4],
    product: `widget ${i}`,
    orders: i * 7,
    revenue: Math.round(i * 1234.5) / 100,
    note: i === 3 ? null : i % 10 === 0 ? "a long remark ".repeat(20).trim() : "ok",
  }));

  it("a report of 120 rows: title, subtitle, every row in order, the header row on every page, numbers right-aligned, page numbers", async () => {
    const pdf = await toPdf(sales, { title: "Sales report", subtitle: "Since 2026-11-01" });
    expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
    const read = await readPdf(pdf);
    expect(read.title).toBe("Sales report");
    expect(read.pages.length).toBeGreaterThan(1);
    const pages = read.pages.map((page) => pageLines(page.texts));
    expect(pages[0]!.slice(0, 3)).toEqual(["Sales report", "Since 2026-11-01", "region product orders revenue note"]);
    for (const [n, lines] of pages.entries()) {
      // 5 columns: portrait A4.
      expect(read.pages[n]!.width).toBeLessThan(read.pages[n]!.height);
      expect(lines).toContain("region product orders revenue note");
      expect(lines.at(-1)).toBe(`${n + 1} / ${pages.length}`);
    }
    // Every row once, in order: its region, product and figures on one line (a wrapped note runs on below).
    const all = pages.flat();
    let at = 0;
    for (const row of sales) {
      const line = `${row.region} ${row.product} ${row.orders} ${row.revenue}`;
      const found = all.findIndex((l, i) => i >= at && l.startsWith(line));
      expect(found, line).toBeGreaterThanOrEqual(at);
      at = found + 1;
    }
    // Numbers right-aligned: the right edges of a column's figures line up; text is left-aligned.
    const byLine = new Map<number, typeof read.pages[0]["texts"]>();
    for (const t of read.pages[0]!.texts) byLine.set(Math.round(t.y), [...(byLine.get(Math.round(t.y)) ?? []), t]);
    const rows = [...byLine.values()].map((pieces) => pieces.sort((a, b) => a.x - b.x)).filter((pieces) => pieces[1]?.str === "widget");
    expect(rows.length).toBeGreaterThan(20);
    const edges = (column: number, side: (t: { x: number; width: number }) => number) => new Set(rows.map((pieces) => Math.round(side(pieces[column]!))));
    expect(edges(3, (t) => t.x + t.width).size).toBe(1); // orders
    expect(edges(4, (t) => t.x + t.width).size).toBe(1); // revenue
    expect(edges(3, (t) => t.x).size).toBeGreaterThan(1);
    expect(edges(0, (t) => t.x).size).toBe(1); // region, left-aligned
  });

  it("landscape past 6 columns, the chosen columns only and in their order, and no rows at all", async () => {
    const wide = [{ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, secret: "hidden" }];
    const landscape = (await readPdf(await toPdf(wide, { columns: ["g", "a", "b", "c", "d", "e", "f"] }))).pages[0]!;
    expect(landscape.width).toBeGreaterThan(landscape.height);
    expect(pageLines(landscape.texts).slice(0, 2)).toEqual(["g a b c d e f", "7 1 2 3 4 5 6"]);
    expect(pageLines(landscape.texts).join("\n")).not.toContain("hidden");

    const empty = await readPdf(await toPdf([], { title: "Nothing this week" }));
    expect(pageLines(empty.pages[0]!.texts)).toEqual(["Nothing this week", "No rows.", "1 / 1"]);
    const headerOnly = await readPdf(await toPdf([], { columns: ["region", "orders"] }));
    expect(pageLines(headerOnly.pages[0]!.texts)[0]).toBe("region orders");
  });

  it("dates, blobs and objects as text", async () => {
    const rows = [{ day: new Date("2026-12-01T07:00:00Z"), blob: new Uint8Array([1, 2, 3]), meta: { a: 1 }, big: 12345678901234567890n, yes: true }];
    const lines = pageLines((await readPdf(await toPdf(rows))).pages[0]!.texts);
    expect(lines[1]).toBe(`2026-12-01T07:00:00.000Z AQID {"a":1} 12345678901234567890 true`);
  });

  it("a character Roboto lacks is an error naming it, its row and column, and the font option; given a font that has it, it is in the report", async () => {
    const rows = [{ region: "north", trend: "up" }, { region: "south", trend: "↓ 4 %" }];
    await expect(toPdf(rows)).rejects.toThrow(/^taskhost helpers: toPdf: "↓" \(U\+2193, in row 2, column "trend"\) is not in the font Roboto.*give toPdf a TrueType font that has it: \{ font: \{ normal: ".+" \} \}$/);
    await expect(toPdf([{ "東京": 1 }])).rejects.toThrow(/"東" \(U\+6771, in the column name "東京"\)/);

    await mkdir(path.join(env.root, "fonts"));
    await copyFile(path.join(REPO, "node_modules/pdfjs-dist/standard_fonts/LiberationSans-Regular.ttf"), path.join(env.root, "fonts", "sans.ttf"));
    const pdf = await toPdf(rows, { font: { normal: "fonts/sans.ttf" } });
    expect(pageLines((await readPdf(pdf)).pages[0]!.texts)).toContain("south ↓ 4 %");
    expect(pdf.toString("latin1")).toMatch(/\/BaseFont \/[A-Z]{6}\+LiberationSans/);

    await expect(toPdf(rows, { font: { normal: "fonts/missing.ttf" } })).rejects.toThrow(/font\.normal was not found: .*fonts\/missing\.ttf/);
  });
});

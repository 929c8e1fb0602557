import { copyFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import ExcelJS from "exceljs";
import { toCsv, toPdf, toXlsx } from "../helpers/index.ts";
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

  it("dates, blobs and objects as text (toCsv too)", async () => {
    const rows = [{ day: new Date("2026-12-01T07:00:00Z"), blob: new Uint8Array([1, 2, 3]), meta: { a: 1 }, big: 12345678901234567890n, yes: true }];
    const lines = pageLines((await readPdf(await toPdf(rows))).pages[0]!.texts);
    expect(lines[1]).toBe(`2026-12-01T07:00:00.000Z AQID {"a":1} 12345678901234567890 true`);
    // The same text in a CSV; a bigint inside an object prints as its digits.
    expect(toCsv(rows)).toBe(`day,blob,meta,big,yes\r\n2026-12-01T07:00:00.000Z,AQID,"{""a"":1}",12345678901234567890,true\r\n`);
    expect(pageLines((await readPdf(await toPdf([{ meta: { id: 7n } }]))).pages[0]!.texts)[1]).toBe(`{"id":"7"}`);
  });

  it("a character Roboto lacks is an error naming it, its row and column, and the font option; given a font that has it, it is in the report", async () => {
    const rows = [{ region: "north", trend: "up" }, { region: "south", trend: "↓ 4 %" }];
    await expect(toPdf(rows)).rejects.toThrow(/^taskhost helpers: toPdf: "↓" \(U\+2193, in rows\[1\], column "trend"\) is not in the font Roboto.*give toPdf a TrueType font that has it: \{ font: \{ normal: ".+" \} \}$/);
    await expect(toPdf([{ "東京": 1 }])).rejects.toThrow(/"東" \(U\+6771, in the column name "東京"\)/);

    await mkdir(path.join(env.root, "fonts"));
    await copyFile(path.join(REPO, "node_modules/pdfjs-dist/standard_fonts/LiberationSans-Regular.ttf"), path.join(env.root, "fonts", "sans.ttf"));
    const pdf = await toPdf(rows, { font: { normal: "fonts/sans.ttf" } });
    expect(pageLines((await readPdf(pdf)).pages[0]!.texts)).toContain("south ↓ 4 %");
    expect(pdf.toString("latin1")).toMatch(/\/BaseFont \/[A-Z]{6}\+LiberationSans/);

    await expect(toPdf(rows, { font: { normal: "fonts/missing.ttf" } })).rejects.toThrow(/font\.normal was not found: .*fonts\/missing\.ttf/);
    await writeFile(path.join(env.root, "fonts", "notes.txt"), "not a font");
    await expect(toPdf(rows, { font: { normal: "fonts/notes.txt" } })).rejects.toThrow(/font\.normal \(.*notes\.txt\) is not a TrueType or OpenType font: /);
    await expect(toPdf(rows, { font: { normal: "fonts" } })).rejects.toThrow(/font\.normal is not a file: /);
    await expect(toPdf(rows, { font: { normal: "" } })).rejects.toThrow(/font\.normal must be the path of a \.ttf or \.otf file/);
    await expect(toPdf(rows, { font: { normal: "fonts/sans.ttf", bold: "fonts/none.ttf" } })).rejects.toThrow(/font\.bold was not found/);
  });

  /** Every piece of text lies within the page's margins (36 pt), left and right. */
  const insideMargins = (page: { width: number; texts: Array<{ str: string; x: number; width: number }> }) =>
    page.texts.filter((t) => t.x < 35.5 || t.x + t.width > page.width - 35.5).map((t) => `${t.str} at ${Math.round(t.x)}..${Math.round(t.x + t.width)}`);

  it("nothing runs off the page: long unbroken values break, wide tables shrink their type, a row taller than a page goes on over the next", async () => {
    const url = `https://example.com/${"segment".repeat(40)}?q=1`;
    const hash = "f".repeat(71);
    const tall = Array.from({ length: 3000 }, (_, i) => `w${i}`).join(" ");
    const rows = [
      { day: new Date("2026-12-01T00:00:00Z"), who: "ada.lovelace@example.com", link: url, hash, meta: { region: "north", tags: ["a", "b"] }, amount: 12.5 },
      { day: new Date("2026-12-02T00:00:00Z"), who: "grace.hopper@example.com", link: "short", hash: tall, meta: null, amount: 7 },
      { day: new Date("2026-12-03T00:00:00Z"), who: "after", link: "last", hash: "row", meta: null, amount: 1 },
    ];
    const read = await readPdf(await toPdf(rows));
    expect(read.pages.length).toBeGreaterThan(1);
    for (const page of read.pages) expect(insideMargins(page)).toEqual([]);
    const all = read.pages.map((p) => p.texts.map((t) => t.str).join("")).join("").replace(/\s+/g, "");
    for (const value of [url, hash, "w0w1w2", "w2998w2999", '{"region":"north","tags":["a","b"]}', "after"]) expect(all).toContain(value.replace(/\s+/g, ""));
    expect(all.indexOf("w2999")).toBeLessThan(all.indexOf("after"));

    const wide = [Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`measurement_${i}`, Math.round(1234567.891 * (i + 1) * 100) / 100]))];
    const landscape = (await readPdf(await toPdf(wide))).pages[0]!;
    expect(insideMargins(landscape)).toEqual([]);
    expect(pageLines(landscape.texts).join(" ")).toContain("measurement_13");

    const tooMany = [Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`c${i}`, "a value in words"]))];
    await expect(toPdf(tooMany)).rejects.toThrow(/40 columns do not fit across a landscape A4 page even at 6 pt; choose fewer with `columns` or a larger `pageSize` \(`A3`\)$/);
    await expect(toPdf(tooMany, { landscape: false, pageSize: "A3" })).rejects.toThrow(/across a portrait A3 page even at 6 pt; choose fewer with `columns` or give `landscape: true`$/);
  });

  it("every key of the rows is a column, in the order keys first appear (toCsv and toXlsx too); an invalid Date prints as such", async () => {
    const lines = pageLines((await readPdf(await toPdf([{ a: 1 }, { a: 2, b: "late key" }, { c: new Date(Number.NaN) }]))).pages[0]!.texts);
    expect(lines.slice(0, 4)).toEqual(["a b c", "1", "2 late key", "Invalid Date"]);
    // The same columns in toCsv and toXlsx.
    expect(toCsv([{ a: 1 }, { a: 2, b: "late key" }])).toBe("a,b\r\n1,\r\n2,late key\r\n");
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load((await toXlsx([{ a: 1 }, { b: 2 }])) as unknown as ArrayBuffer);
    expect(workbook.worksheets[0]!.getRow(1).values).toEqual([undefined, "a", "b"]);
  });
});

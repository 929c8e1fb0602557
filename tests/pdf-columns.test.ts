import { describe, expect, it } from "vitest";
import { columnWidths, MIN_TEXT_WIDTH } from "../helpers/pdf-columns.ts";

const text = (natural: number) => ({ natural, numeric: false });
const number = (natural: number) => ({ natural, numeric: true });
const sum = (widths: readonly number[]) => widths.reduce((a, b) => a + b, 0);

describe("columnWidths (toPdf's columns across a page)", () => {
  it("gives each column its widest cell when all fit", () => {
    expect(columnWidths([text(10), number(5)], 2, 100)).toEqual([20, 10]);
    expect(columnWidths([text(50)], 2, 100)).toEqual([100]);
  });

  it("past the page: numbers keep theirs, a narrow text column keeps its own, the wide ones share the rest equally", () => {
    // At size 1: 400 of space; numbers 40 + 30; text 20 (narrow), 300 and 500 (wide).
    const widths = columnWidths([text(300), number(40), text(20), text(500), number(30)], 1, 400)!;
    expect(widths[1]).toBe(40);
    expect(widths[4]).toBe(30);
    expect(widths[2]).toBe(20);
    expect(widths[0]).toBeCloseTo(155);
    expect(widths[3]).toBeCloseTo(155);
    expect(sum(widths)).toBeCloseTo(400);
  });

  it("scales with the font size", () => {
    expect(columnWidths([text(30), text(30)], 9, 500)).toEqual([250, 250]);
    expect(columnWidths([text(30), text(30)], 8, 500)).toEqual([240, 240]);
  });

  it(`is null when a text column would get less than ${MIN_TEXT_WIDTH} pt, or the numbers alone are too wide`, () => {
    expect(columnWidths([text(100), text(100), number(50)], 1, 50 + 2 * MIN_TEXT_WIDTH)).not.toBeNull();
    expect(columnWidths([text(100), text(100), number(50)], 1, 50 + 2 * MIN_TEXT_WIDTH - 1)).toBeNull();
    expect(columnWidths([number(60), number(60)], 1, 119)).toBeNull();
    expect(columnWidths([], 9, 100)).toEqual([]);
  });
});

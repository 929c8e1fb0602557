/**
 * A `context` worker's stock of fresh contexts (realm-stock.ts), on this
 * thread with real contexts: it keeps as many ready as its last burst of runs
 * took, at most MAX_STOCK, and makes none while a run is loaded.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { IsolateKit } from "./support/isolate-kit.ts";
import { MAX_STOCK, RARE_STOCK, RealmStock } from "../runtime/run/isolates/realm-stock.ts";
import { waitFor } from "./support/wait-for.ts";

let kit: IsolateKit;

beforeAll(async () => {
  kit = await IsolateKit.create();
}, 60_000);

afterAll(async () => {
  await kit?.dispose();
});

it("keeps as many contexts ready as the last burst of runs took when bursts come every few seconds (at most MAX_STOCK), a few when they are rare, each used once", async () => {
  let busy = false;
  const stock = new RealmStock(kit.isolates.apiScript, () => !busy);
  const taken = new Set<object>();
  // A worker serves one run at a time: each run of a burst loads (take) and ends (ranOut) a millisecond after the one before.
  const burst = (runs: number, at: number) => {
    for (let i = 0; i < runs; i++) {
      const realm = stock.take(at + i);
      expect(taken.has(realm)).toBe(false);
      taken.add(realm);
      stock.ranOut(at + i + 0.5);
    }
  };
  const t0 = performance.now();
  burst(RARE_STOCK + 3, t0);
  // One burst alone (or bursts a minute apart) keeps a few contexts ready, not a stock as large as the burst.
  await waitFor(() => stock.size === RARE_STOCK, { what: "a few contexts made after a first burst" });
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(stock.size).toBe(RARE_STOCK);
  burst(RARE_STOCK + 3, t0 + 1000);
  await waitFor(() => stock.size === RARE_STOCK + 3, { what: "as many contexts as a second burst a second later took" });

  // While a run is loaded nothing is made.
  busy = true;
  burst(MAX_STOCK + 4, t0 + 2000);
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(stock.size).toBe(0);
  busy = false;
  stock.fill();
  await waitFor(() => stock.size === MAX_STOCK, { what: "the stock made up to its cap" });
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(stock.size).toBe(MAX_STOCK);

  // A minute later: rare bursts keep a few (what is ready stays until used).
  const before = stock.size;
  burst(before + RARE_STOCK + 3, t0 + 62_000);
  await waitFor(() => stock.size === RARE_STOCK, { what: "a few contexts made after a burst a minute later" });
}, 60_000);

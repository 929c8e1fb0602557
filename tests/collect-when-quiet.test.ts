/**
 * When a warm worker collects its garbage (collect-when-quiet.ts): once its
 * runs have been quiet for the whole spell, never while a run is loaded, only
 * when they left enough behind, and once a spell. The fake clock and heap
 * drive the decision; the last test takes V8's own gc() the way a worker
 * does, and checks that contexts made afterwards do not get a `gc` global.
 */
import vm from "node:vm";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { fetchGc, LOCK_RETRY_MS, MIN_GARBAGE_BYTES, QUIET_MS, QuietCollector } from "../runtime/run/isolates/collect-when-quiet.ts";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const MB = 1024 * 1024;

/** A worker whose heap starts at 10 MB; a collection brings it back to `state.live`. */
const setup = () => {
  const state = { busy: false, heap: 10 * MB, live: 10 * MB, calls: 0, told: 0 };
  const collector = new QuietCollector(
    () => !state.busy,
    () => state.heap,
    () => state.told++,
    () => () => {
      state.calls++;
      state.heap = state.live;
    },
  );
  return { state, collector };
};

it("collects once the runs have been quiet for QUIET_MS and left garbage, and tells the host", () => {
  const { state, collector } = setup();
  state.heap += MIN_GARBAGE_BYTES;
  collector.ranOut(state.heap);
  vi.advanceTimersByTime(QUIET_MS - 1);
  expect(collector.collections).toBe(0);
  vi.advanceTimersByTime(1);
  expect(collector.collections).toBe(1);
  expect(state.told).toBe(1);
  // Nothing ran since: nothing more to collect.
  vi.advanceTimersByTime(10 * QUIET_MS);
  expect(collector.collections).toBe(1);
});

it("waits for the whole spell after the latest run of a burst", () => {
  const { state, collector } = setup();
  for (let i = 0; i < 5; i++) {
    state.heap += MB;
    collector.ranOut(state.heap);
    vi.advanceTimersByTime(QUIET_MS / 2);
  }
  expect(collector.collections).toBe(0);
  vi.advanceTimersByTime(QUIET_MS / 2);
  expect(collector.collections).toBe(1);
});

it("does not collect while a run is loaded; that run's end arms it again", () => {
  const { state, collector } = setup();
  state.heap += 2 * MIN_GARBAGE_BYTES;
  collector.ranOut(state.heap);
  state.busy = true;
  vi.advanceTimersByTime(2 * QUIET_MS);
  expect(collector.collections).toBe(0);
  state.busy = false;
  collector.ranOut(state.heap);
  vi.advanceTimersByTime(QUIET_MS);
  expect(collector.collections).toBe(1);
});

it("leaves a worker whose runs left little alone, until their garbage adds up (counted from V8's own collections too)", () => {
  const { state, collector } = setup();
  const quietRun = (grow: number) => {
    state.heap += grow;
    collector.ranOut(state.heap);
    vi.advanceTimersByTime(QUIET_MS);
  };
  quietRun(MB);
  quietRun(MB);
  expect(collector.collections).toBe(0);
  // V8 collected by itself: the heap is back under where it began, and growth counts from there.
  state.heap = 8 * MB;
  quietRun(MB);
  quietRun(MIN_GARBAGE_BYTES - MB);
  expect(collector.collections).toBe(0);
  // 4 MB over the 9 MB seen after V8's collection (from the 10 MB it began with, only 3).
  quietRun(MB);
  expect(collector.collections).toBe(1);
});

it("tells the host what is left when V8 collected on its own, without collecting again", () => {
  const { state, collector } = setup();
  state.heap = 40 * MB;
  collector.ranOut(state.heap);
  // V8's own collection, between the run's end and the quiet spell's.
  state.heap = 11 * MB;
  vi.advanceTimersByTime(QUIET_MS);
  expect(collector.collections).toBe(0);
  expect(state.told).toBe(1);
  // Nothing new to tell after the next quiet run.
  collector.ranOut(state.heap);
  vi.advanceTimersByTime(QUIET_MS);
  expect(state.told).toBe(1);
});

it("tries again in a moment, while still quiet, when another worker was fetching gc()", () => {
  let gcs = 0;
  const answers: Array<(() => void) | undefined> = [undefined, () => gcs++];
  let heap = 0;
  const collector = new QuietCollector(
    () => true,
    () => heap,
    () => {},
    () => answers.shift(),
  );
  heap += MIN_GARBAGE_BYTES;
  collector.ranOut(heap);
  vi.advanceTimersByTime(QUIET_MS);
  expect(gcs).toBe(0);
  vi.advanceTimersByTime(LOCK_RETRY_MS);
  expect(collector.collections).toBe(1);
  expect(gcs).toBe(2);
});

it("takes V8's gc() with the lock, leaves it to no context made afterwards, and never while another worker holds the lock or the host's flag is the user's", () => {
  const lock = new Int32Array(new SharedArrayBuffer(4));
  lock[0] = 1;
  expect(fetchGc(lock, false)).toBeUndefined();
  expect(fetchGc(new Int32Array(new SharedArrayBuffer(4)), true)).toBeNull();
  lock[0] = 0;
  const gc = fetchGc(lock, false);
  expect(typeof gc).toBe("function");
  expect(lock[0]).toBe(0);
  expect(vm.runInNewContext("typeof gc")).toBe("undefined");
  const before = process.memoryUsage().heapUsed;
  let garbage: number[][] | null = Array.from({ length: 16 }, () => new Array(131_072).fill(1.5));
  expect(garbage.length).toBe(16);
  garbage = null;
  gc!();
  expect(process.memoryUsage().heapUsed).toBeLessThan(before + 8 * 1024 * 1024);
});

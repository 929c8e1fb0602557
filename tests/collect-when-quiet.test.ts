/**
 * When a warm worker collects its garbage (collect-when-quiet.ts): once its
 * runs have been quiet for the whole spell, never while a run is loaded, and
 * once a spell. The fake clock drives the decision; the last test takes V8's
 * own gc() the way a worker does, and checks that contexts made afterwards do
 * not get a `gc` global.
 */
import vm from "node:vm";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { QUIET_MS, QuietCollector } from "../runtime/run/isolates/collect-when-quiet.ts";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const setup = () => {
  const state = { busy: false, gcs: 0, told: 0 };
  const collector = new QuietCollector(
    () => !state.busy,
    () => state.told++,
    () => state.gcs++,
  );
  return { state, collector };
};

it("collects once the runs have been quiet for QUIET_MS, and tells the host", () => {
  const { state, collector } = setup();
  collector.ranOut();
  vi.advanceTimersByTime(QUIET_MS - 1);
  expect(state.gcs).toBe(0);
  vi.advanceTimersByTime(1);
  expect(state).toMatchObject({ gcs: 1, told: 1 });
  // Nothing ran since: nothing more to collect.
  vi.advanceTimersByTime(10 * QUIET_MS);
  expect(state.gcs).toBe(1);
});

it("waits for the whole spell after the latest run of a burst", () => {
  const { state, collector } = setup();
  for (let i = 0; i < 5; i++) {
    collector.ranOut();
    vi.advanceTimersByTime(QUIET_MS / 2);
  }
  expect(state.gcs).toBe(0);
  vi.advanceTimersByTime(QUIET_MS / 2);
  expect(state.gcs).toBe(1);
});

it("does not collect while a run is loaded; that run's end arms it again", () => {
  const { state, collector } = setup();
  collector.ranOut();
  state.busy = true;
  vi.advanceTimersByTime(2 * QUIET_MS);
  expect(state.gcs).toBe(0);
  state.busy = false;
  collector.ranOut();
  vi.advanceTimersByTime(QUIET_MS);
  expect(state.gcs).toBe(1);
});

it("takes V8's gc() without leaving it to the contexts made afterwards", () => {
  let told = 0;
  const collector = new QuietCollector(
    () => true,
    () => told++,
  );
  expect(vm.runInNewContext("typeof gc")).toBe("undefined");
  collector.ranOut();
  vi.advanceTimersByTime(QUIET_MS);
  expect(collector.collections).toBe(1);
  expect(told).toBe(1);
});

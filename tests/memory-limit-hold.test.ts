import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { nextHold, SETTLE_MS } from "../runtime/host/memory-limit-hold.ts";
import { watchMemory } from "../runtime/host/watch-memory.ts";
import { RunMemoryBook } from "../runtime/run/run-memory-book.ts";
import type { HostMemoryFigures } from "../runtime/host/host-memory-verdict.ts";

const MB = 1024 * 1024;
const facts = { ownBytes: 100 * MB, limitBytes: 20 * MB, limitAtStartBytes: 20 * MB, overSinceMs: 10_000, uptimeMs: 10_000, intervalMs: 10_000 };

describe("nextHold: a max_memory_usage a restart cannot meet", () => {
  it("holds a host over the limit it started with since its first checks, to 1.5 × its share", () => {
    expect(nextHold(null, facts)).toEqual({ limitBytes: 20 * MB, ownBytes: 100 * MB, ceilingBytes: 150 * MB });
    // Over since a check in the window: held even when the check that would restart comes later (a run in flight made it wait).
    expect(nextHold(null, { ...facts, overSinceMs: SETTLE_MS, uptimeMs: SETTLE_MS + 20_000 })).not.toBeNull();
    // A limit just under the share: the ceiling is 1.5 × the share, never below the limit.
    expect(nextHold(null, { ...facts, ownBytes: 21 * MB })?.ceilingBytes).toBe(Math.ceil(21 * MB * 1.5));
  });

  it("raises the ceiling with the host's share while it settles, then keeps it", () => {
    const held = nextHold(null, facts)!;
    const grown = nextHold(held, { ...facts, ownBytes: 130 * MB, uptimeMs: 30_000 })!;
    expect(grown).toEqual({ limitBytes: 20 * MB, ownBytes: 130 * MB, ceilingBytes: 195 * MB });
    expect(nextHold(grown, { ...facts, ownBytes: 110 * MB, uptimeMs: 40_000 })).toBe(grown);
    expect(nextHold(grown, { ...facts, ownBytes: 180 * MB, uptimeMs: SETTLE_MS + 1 })).toBe(grown);
  });

  it("restarts a host that grew: over the limit only after it settled", () => {
    expect(nextHold(null, { ...facts, overSinceMs: SETTLE_MS + 1, uptimeMs: SETTLE_MS + 1 })).toBeNull();
  });

  it("restarts a host whose limit a reload changed: the restart shows whether it had grown; the hold for the old limit ends", () => {
    expect(nextHold(null, { ...facts, limitAtStartBytes: 500 * MB })).toBeNull();
    const held = nextHold(null, facts)!;
    expect(nextHold(held, { ...facts, limitBytes: 50 * MB, uptimeMs: SETTLE_MS + 10_000 })).toBeNull();
  });

  it("with a long memory_check_interval, the first check still counts as right after the start", () => {
    expect(nextHold(null, { ...facts, intervalMs: 300_000, overSinceMs: 300_000, uptimeMs: 300_000 })).not.toBeNull();
    expect(nextHold(null, { ...facts, intervalMs: 300_000, overSinceMs: 600_000, uptimeMs: 600_000 })).toBeNull();
  });
});

describe("watchMemory with a limit below the host's share at start", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function watch(limit: { mb: number }, rss: { mb: number }) {
    const seen: { held: Array<{ ceilingMb: number; ownMb: number }>; restarts: string[] } = { held: [], restarts: [] };
    const stop = watchMemory({
      intervalSec: () => 10,
      limitBytes: () => limit.mb * MB,
      rssBytes: () => rss.mb * MB,
      book: new RunMemoryBook(),
      now: () => Date.now(),
      onLimitTooLow: (figures: HostMemoryFigures, hold) => seen.held.push({ ceilingMb: hold.ceilingBytes / MB, ownMb: figures.ownBytes / MB }),
      onLimit: (_figures, reason) => seen.restarts.push(reason),
      onRunStopped: () => {},
      onError: (error) => {
        throw error;
      },
    });
    return { seen, stop };
  }

  it("holds once instead of restarting, restarts past the ceiling, and says which limit it passed", () => {
    const rss = { mb: 100 };
    const { seen, stop } = watch({ mb: 20 }, rss);
    vi.advanceTimersByTime(10_000);
    expect(seen).toEqual({ held: [{ ceilingMb: 150, ownMb: 100 }], restarts: [] });
    // Still growing into its steady size in its first minute: the ceiling follows, no restart.
    rss.mb = 160;
    vi.advanceTimersByTime(60_000);
    expect(seen.restarts).toEqual([]);
    // Settled: the ceiling (1.5 × 160 MB) stays.
    rss.mb = 230;
    vi.advanceTimersByTime(120_000);
    expect(seen.held).toHaveLength(1);
    expect(seen.restarts).toEqual([]);
    rss.mb = 250;
    vi.advanceTimersByTime(10_000);
    expect(seen.restarts).toEqual([
      "memory restart: the host's memory was 250 MB, 250 MB of it not its runs' (they reported 0 MB), over the 240 MB it holds to while max_memory_usage (20 MB) is below its share at start",
    ]);
    stop();
  });

  it("a changed max_memory_usage ends the hold: a limit still too low then restarts the host once", () => {
    const limit = { mb: 20 };
    const { seen, stop } = watch(limit, { mb: 100 });
    vi.advanceTimersByTime(10_000);
    expect(seen.held).toHaveLength(1);
    vi.advanceTimersByTime(SETTLE_MS);
    limit.mb = 50;
    vi.advanceTimersByTime(10_000);
    expect(seen.restarts).toEqual(["memory restart: the host's memory was 100 MB, 100 MB of it not its runs' (they reported 0 MB), over max_memory_usage (50 MB)"]);
    stop();
  });
});

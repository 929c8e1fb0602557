/**
 * CoreLoad (runtime/run/isolates/core-load.ts): whether the host's threads
 * saturate the cores, from CPU samples over a recent window. A fake clock:
 * this is a pure reading of time and CPU counters.
 */
import { describe, expect, it } from "vitest";
import { CoreLoad, SATURATED_SHARE } from "../runtime/run/isolates/core-load.ts";

function fakeClock(cores: number) {
  const clock = { at: 1_000, cpu: 0, cores, now: () => clock.at, cpuMs: () => clock.cpu };
  /** `ms` pass while the process uses `share` of all cores. */
  const pass = (ms: number, share: number) => {
    clock.at += ms;
    clock.cpu += ms * share * cores;
  };
  return { clock, pass };
}

describe("CoreLoad", () => {
  it("says saturated once the process has used SATURATED_SHARE of the cores over a window of 40 ms or more", () => {
    const { clock, pass } = fakeClock(2);
    const load = new CoreLoad(clock);
    load.sample();
    pass(30, 1);
    // Too short a window to tell.
    expect(load.saturated()).toBe(false);
    pass(30, 1);
    expect(load.saturated()).toBe(true);
    // The window (up to 250 ms) holds 60 ms at 100 % and 100 ms at 65 %: 78 % in all.
    pass(100, 0.65);
    expect(load.saturated()).toBe(true);
    pass(300, SATURATED_SHARE - 0.2);
    // The busy part has left the window.
    expect(load.saturated()).toBe(false);
  });

  it("counts all cores: one busy core of two is not saturated, one of one is", () => {
    for (const [cores, expected] of [[2, false], [1, true]] as const) {
      const { clock, pass } = fakeClock(cores);
      const load = new CoreLoad(clock);
      load.sample();
      // One core's worth of CPU, whatever the number of cores.
      pass(100, 1 / cores);
      expect(load.saturated(), `${cores} core(s)`).toBe(expected);
    }
  });

  it("says not saturated after an idle gap with no sample in the window (the pool just woke up)", () => {
    const { clock, pass } = fakeClock(2);
    const load = new CoreLoad(clock);
    load.sample();
    pass(5_000, 0);
    clock.cpu += 10_000; // whatever was used long ago does not count
    expect(load.saturated()).toBe(false);
    pass(50, 1);
    expect(load.saturated()).toBe(true);
  });
});

import { describe, expect, it } from "vitest";
import { hostMemoryVerdict, LATE_AFTER_MS, OVER_FOR_MS, SILENT_AFTER_MS } from "../runtime/host/host-memory-verdict.ts";
import { runMemoryProblem, type RunMemoryEntry } from "../runtime/run/run-memory-book.ts";

const MB = 1024 * 1024;
const NOW = 1_000_000;

function run(label: string, occupiedMb: number | null, silentMs = 0): RunMemoryEntry {
  return {
    label,
    limitBytes: 512 * MB,
    since: NOW - 60_000,
    last: occupiedMb === null ? null : { type: "memory", heapUsed: MB, heapTotal: 2 * MB, external: (occupiedMb - 2) * MB, at: NOW - silentMs },
    stop: () => {},
  };
}

describe("a run's memory against its memory_limit", () => {
  it("counts Buffers and ArrayBuffers with the heap", () => {
    expect(runMemoryProblem({ type: "memory", heapUsed: 10 * MB, heapTotal: 20 * MB, external: 100 * MB }, 128 * MB)).toBeNull();
    expect(runMemoryProblem({ type: "memory", heapUsed: 10 * MB, heapTotal: 20 * MB, external: 190 * MB }, 128 * MB)).toBe(
      "the run used 200 MB of memory (10 MB on its heap, 190 MB in Buffers and ArrayBuffers), over its memory_limit of 128 MB, and was stopped",
    );
  });
});

describe("the host's memory check", () => {
  it("does not count what its runs report against max_memory_usage", () => {
    // Defaults: 500 MB for the host, a run at 420 MB of its 512 MB.
    const verdict = hostMemoryVerdict(560 * MB, [run("big#start", 430)], 500 * MB, NOW);
    expect(verdict).toMatchObject({ kind: "ok", figures: { ownBytes: 130 * MB, runsBytes: 430 * MB } });
  });

  it("counts what idle pooled workers' last runs left them occupying with the runs; they are never silent", () => {
    // 17 pooled workers between boundaries, each last seen at 30 MB a minute ago: not the host's own 510 MB.
    const idle = Array.from({ length: 17 }, (_, i) => ({ ...run(`taskhost:context:256 #${i}`, 30, 60_000), limitBytes: Infinity, idle: true }));
    const verdict = hostMemoryVerdict(600 * MB, idle, 500 * MB, NOW);
    expect(verdict).toMatchObject({ kind: "ok", figures: { runsBytes: 510 * MB, ownBytes: 90 * MB } });
    // Over with only idle workers: a restart at once (no run could be silent), not a stop of a "silent" worker.
    expect(hostMemoryVerdict(1200 * MB, idle, 500 * MB, NOW).kind).toBe("restart");
  });

  it("restarts for the host's own growth once it stays over, saying the figures", () => {
    // With a run in flight, one check over is not enough: the run may have allocated and gone silent since its report.
    expect(hostMemoryVerdict(700 * MB, [run("a#start", 100)], 500 * MB, NOW).kind).toBe("wait");
    expect(hostMemoryVerdict(700 * MB, [run("a#start", 100)], 500 * MB, NOW, NOW - OVER_FOR_MS + 1).kind).toBe("wait");
    // With no run in flight there is nothing to tell apart: at once.
    expect(hostMemoryVerdict(700 * MB, [], 500 * MB, NOW).kind).toBe("restart");
    const verdict = hostMemoryVerdict(700 * MB, [run("a#start", 100)], 500 * MB, NOW, NOW - OVER_FOR_MS);
    expect(verdict.kind).toBe("restart");
    expect(verdict.kind === "restart" && verdict.reason).toBe(
      "memory restart: the host's memory was 700 MB, 600 MB of it not its runs' (they reported 100 MB), over max_memory_usage (500 MB)",
    );
  });

  it("stops the runs it cannot see before it restarts, and waits while one is only late", () => {
    const silent = run("spins#start", 5, SILENT_AFTER_MS + 1000);
    const verdict = hostMemoryVerdict(900 * MB, [run("a#start", 100), silent], 500 * MB, NOW);
    expect(verdict.kind).toBe("stop-silent");
    expect(verdict.kind === "stop-silent" && verdict.runs.map((r) => r.run)).toEqual([silent]);
    expect(verdict.kind === "stop-silent" && verdict.runs[0]!.reason).toMatch(/had not reported its memory for 3 s \(its thread is busy in a synchronous loop\)/);

    expect(hostMemoryVerdict(900 * MB, [run("late#start", 5, LATE_AFTER_MS + 10)], 500 * MB, NOW).kind).toBe("wait");
    // A run that never reported since its worker started is silent too.
    expect(hostMemoryVerdict(900 * MB, [run("new#start", null)], 500 * MB, NOW).kind).toBe("stop-silent");
  });
});

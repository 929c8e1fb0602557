import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RunLogFiles, runLogPath } from "../runtime/run-logs/run-log-files.ts";
import { withRunLogs } from "../runtime/run-logs/with-run-logs.ts";
import { withLogPruning } from "../runtime/run-logs/with-log-pruning.ts";
import type { LaunchedRun, RunLauncher, RunOutcome, RunRequest, RunSink } from "../runtime/scheduler/run-launcher.ts";
import type { Ledger } from "../runtime/store/ledger.ts";

describe("per-run log files", () => {
  let root: string;
  const errors: unknown[] = [];
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "th-runlogs-"));
    errors.length = 0;
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("keeps every line of a run in logs/runs/<task id>/<run id>.log, ending with its outcome", async () => {
    const files = new RunLogFiles(() => root, (e) => errors.push(e));
    const writer = files.open("reports/daily", 42);
    for (let i = 0; i < 3000; i++) writer.line(i % 2 ? "warn" : "info", `line ${i}`);
    await writer.close("success in 12 ms");
    await writer.close("twice");
    const text = (await files.read("reports/daily", 42))!;
    expect(path.relative(root, runLogPath(root, "reports/daily", 42)!)).toBe(path.join("reports", "daily", "42.log"));
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(3001);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}line 0$/);
    expect(lines[2999]).toMatch(/WARN {2}line 2999$/);
    expect(lines[3000]).toMatch(/END {3}success in 12 ms$/);
    expect(errors).toEqual([]);
  });

  it("caps a flood: the head on disk, a note of what was left out, and the last lines", async () => {
    const files = new RunLogFiles(() => root, (e) => errors.push(e), 64 * 1024);
    const writer = files.open("flood", 1);
    for (let i = 0; i < 100_000; i++) writer.line("info", `flood line ${i} ${"x".repeat(40)}`);
    await writer.close("failure in 5 ms");
    const text = (await files.read("flood", 1))!;
    expect(Buffer.byteLength(text)).toBeLessThan(64 * 1024 + 200);
    expect(text).toContain("flood line 0 ");
    expect(text).toMatch(/… \d+ bytes of output left out here \(a run's log keeps 65536 bytes\) …\n/);
    expect(text).toContain("flood line 99999 ");
    expect(text.trimEnd().endsWith("failure in 5 ms")).toBe(true);
  });

  it("writes no file for a run that printed nothing and was never started, and refuses odd ids", async () => {
    const files = new RunLogFiles(() => root, (e) => errors.push(e));
    await files.open("quiet", 7).close();
    expect(existsSync(path.join(root, "quiet", "7.log"))).toBe(false);
    expect(runLogPath(root, "../etc", 1)).toBeNull();
    expect(runLogPath(root, "a/./../../b", 1)).toBeNull();
    // Any id a task file can have has its log files (contract §2: the path without .ts).
    expect(path.relative(root, runLogPath(root, "report.v2", 3)!)).toBe(path.join("report.v2", "3.log"));
    expect(path.relative(root, runLogPath(root, "team a/my task", 3)!)).toBe(path.join("team a", "my task", "3.log"));
    expect(runLogPath(root, "ok", -1)).toBeNull();
    expect(await files.read("../../etc/passwd", 1)).toBeNull();
  });

  it("tees a launcher's lines into the run's file, whatever launcher it wraps, and passes the rest on", async () => {
    let finish: (outcome: RunOutcome) => void = () => {};
    const seen: string[] = [];
    const limits: Array<{ maxConcurrentRuns: number }> = [];
    const told: string[] = [];
    // The scheduler's side of a launcher, standing in for a worker: what it reports is all the decorator sees.
    const inner: RunLauncher = {
      launch(_request: RunRequest, sink: RunSink): LaunchedRun {
        const outcome = new Promise<RunOutcome>((resolve) => (finish = resolve));
        return {
          ready: Promise.resolve(),
          outcome,
          start: () => {
            sink.started(1000);
            sink.log("info", "hello");
            sink.log("error", "boom");
          },
          stop: () => {},
          cancel: () => {},
        };
      },
      leadTimeMs: () => 5,
      configure: (given) => limits.push(given),
      expect: (run) => told.push(run.scheduleId),
      forgetTask: (taskId) => told.push(`forget ${taskId}`),
      close: async () => {},
    };
    const files = new RunLogFiles(() => root, (e) => errors.push(e));
    const launcher = withRunLogs(inner, files);
    const request = { runId: 9, task: { id: "t", title: "T" } } as RunRequest;
    const run = launcher.launch(request, { started: () => seen.push("started"), log: (_l, line) => seen.push(line), state: () => {} });
    run.start(async () => ({}));
    finish({ status: "failure", error: "Error: boom\n  at x", output: "hello\nboom\n", startedAt: 1000, finishedAt: 1250 });
    await run.outcome;
    await expect.poll(async () => (await files.read("t", 9)) ?? "").toMatch(/END {3}failure in 250 ms: Error: boom\n$/);
    expect(seen).toEqual(["started", "hello", "boom"]);
    expect(launcher.leadTimeMs("t", "worker")).toBe(5);
    // A config reload's max_concurrent_runs reaches the pool through this wrapper (it once did not).
    launcher.configure?.({ maxConcurrentRuns: 3 });
    expect(limits).toEqual([{ maxConcurrentRuns: 3 }]);
    // So do what the scheduler tells of coming runs and removed tasks (they once did not: the pool never rested at start).
    launcher.expect({ taskId: "t", scheduleId: "t#run", at: 0, isolation: "context", bundlePath: "/b.mjs", memoryLimitMb: 512 });
    launcher.forgetTask("t");
    expect(told).toEqual(["t#run", "forget t"]);
  });

  it("keeps no file for a run that printed nothing and succeeded, and keeps one for a silent failure", async () => {
    const files = new RunLogFiles(() => root, (e) => errors.push(e));
    const silent = (status: RunOutcome["status"]): RunLauncher => ({
      launch: () => ({
        ready: Promise.resolve(),
        outcome: Promise.resolve({ status, error: status === "success" ? null : "Error: quiet", output: "", startedAt: 1000, finishedAt: 1010 }),
        start: () => {},
        stop: () => {},
        cancel: () => {},
      }),
      leadTimeMs: () => 5,
      close: async () => {},
    });
    const sink = { started: () => {}, log: () => {}, state: () => {} };
    await withRunLogs(silent("success"), files).launch({ runId: 21, task: { id: "q", title: "Q" } } as RunRequest, sink).outcome;
    await withRunLogs(silent("failure"), files).launch({ runId: 22, task: { id: "q", title: "Q" } } as RunRequest, sink).outcome;
    await expect.poll(async () => (await files.read("q", 22)) ?? "").toMatch(/END {3}failure in 10 ms: Error: quiet\n$/);
    expect(await files.read("q", 21)).toBeNull();
  });

  it("removes the files of the runs history retention prunes", async () => {
    const files = new RunLogFiles(() => root, (e) => errors.push(e));
    for (const id of [1, 2, 3]) {
      const w = files.open("job", id);
      w.line("info", `run ${id}`);
      await w.close();
    }
    class Pruning {
      readonly #kept = 2;
      async pruneRuns(_taskId: string, keep: number): Promise<number[]> {
        return keep === this.#kept ? [1] : [];
      }
      kind = "sqljs" as const;
      async getRun(id: number) {
        return this.#kept === 2 ? { id } : undefined;
      }
    }
    const ledger = withLogPruning(new Pruning() as unknown as Ledger, files, (e) => errors.push(e));
    expect(await ledger.pruneRuns("job", 2)).toEqual([1]);
    expect(existsSync(path.join(root, "job", "1.log"))).toBe(false);
    expect(existsSync(path.join(root, "job", "2.log"))).toBe(true);
    // Every other method is the ledger's own, on the ledger.
    expect(await ledger.getRun(5)).toEqual({ id: 5 });
    expect(ledger.kind).toBe("sqljs");
  });
});

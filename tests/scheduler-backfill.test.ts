/**
 * Backfill against the real scheduler and sql.js ledger, on the scheduler
 * harness's fake clock and fake launcher: runOccurrence, and the Backfills
 * component driving it through the host's BackfillTarget.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { RunRow } from "../runtime/store/ledger.ts";
import { Backfills } from "../runtime/backfill/backfills.ts";
import { BackfillJobFiles } from "../runtime/backfill/backfill-job-files.ts";
import { hostBackfillTarget } from "../runtime/backfill/host-backfill-target.ts";
import { decideRetry } from "../runtime/scheduler/decide-retry.ts";
import { harness, task, type Harness } from "./support/scheduler-harness.ts";
import { waitFor } from "./support/wait-for.ts";

const at = (hhmm: string) => Date.parse(`2026-03-02T${hhmm}:00.000Z`);
const brief = (runs: RunRow[]) => runs.map((r) => `${new Date(r.scheduledFor!).toISOString().slice(11, 16)} ${r.trigger} ${r.status}`);

let open: Harness[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const h of open.reverse()) await h.close();
  open = [];
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe("running a past occurrence (trigger backfill)", () => {
  it("records it at its occurrence, runs it, and answers null for one that already has a run", async () => {
    const h = await harness({ start: at("10:00") + 30_000 });
    open.push(h);
    await h.scheduler.setTask(task("job", { meta: { retryCount: 2, retryDelaySec: 1 } }));
    h.scheduler.start();
    await h.time.advanceTo(at("10:02") + 10_000);
    const ran = h.scheduler.runOccurrence({ taskId: "job", scheduleId: "job#run", method: "run", scheduledFor: at("09:30"), trigger: "backfill" });
    await h.time.advance(0);
    expect((await ran)!).toMatchObject({ trigger: "backfill", status: "success", scheduledFor: at("09:30"), attempt: 1 });
    // The schedule itself ran 10:01: that occurrence is taken, and so is the one backfilled.
    expect(await h.scheduler.runOccurrence({ taskId: "job", scheduleId: "job#run", method: "run", scheduledFor: at("10:01"), trigger: "backfill" })).toBeNull();
    expect(await h.scheduler.runOccurrence({ taskId: "job", scheduleId: "job#run", method: "run", scheduledFor: at("09:30"), trigger: "backfill" })).toBeNull();
    expect(brief(await h.runs("job"))).toEqual(["10:01 schedule success", "10:02 schedule success", "09:30 backfill success"]);
    await expect(h.scheduler.runOccurrence({ taskId: "nope", scheduleId: "nope#run", method: "run", scheduledFor: at("09:30"), trigger: "backfill" })).rejects.toMatchObject({ code: "ERR_UNKNOWN_TASK" });
  });

  it("is not retried: whoever backfills sees the failure", () => {
    expect(decideRetry({ status: "failure", trigger: "backfill", attempt: 1, retryCount: 3, retryDelaySec: 1, now: 0, stopping: false })).toBeNull();
    expect(decideRetry({ status: "failure", trigger: "schedule", attempt: 1, retryCount: 3, retryDelaySec: 1, now: 0, stopping: false })).toEqual({ at: 1000 });
  });

  it("a backfill through the host's target: the past occurrences with no run, one at a time, oldest first", async () => {
    const h = await harness({ start: at("10:00") + 30_000 });
    open.push(h);
    h.launcher.plan = (request) => ({ durationMs: 20_000, status: request.scheduledFor === at("09:52") ? "failure" : "success" });
    await h.scheduler.setTask(task("job"));
    h.scheduler.start();
    const loaded = task("job");
    const dir = await mkdtemp(path.join(os.tmpdir(), "th-backfill-"));
    dirs.push(dir);
    const backfills = new Backfills({
      target: hostBackfillTarget({ catalog: { get: (id) => (id === "job" ? ({ id, loaded } as never) : undefined) }, ledger: h.ledger, scheduler: h.scheduler }),
      files: new BackfillJobFiles(dir),
      log: { debug() {}, info() {}, warn() {}, error() {} },
      now: () => h.time.now(),
    });
    const job = await backfills.start({ target: "job", from: "2026-03-02T09:50Z", to: "2026-03-02T09:54Z" });
    expect(job.planned).toHaveLength(5);
    for (let i = 0; i < 5 && backfills.get(job.id).state === "running"; i++) {
      await waitFor(() => h.launcher.of("job#run").some((r) => r.request.scheduledFor === at(`09:5${i}`)), { what: `09:5${i} launched` });
      await h.time.advance(20_000);
    }
    await waitFor(() => backfills.get(job.id).state === "done", { what: "the backfill done" });
    const runs = (await h.runs("job")).filter((r) => r.trigger === "backfill");
    expect(brief(runs)).toEqual(["09:50 backfill success", "09:51 backfill success", "09:52 backfill failure", "09:53 backfill success", "09:54 backfill success"]);
    // One at a time: each began when the one before had ended.
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.startedAt!).toBeGreaterThanOrEqual(runs[i - 1]!.finishedAt!);
    await expect(backfills.start({ target: "job#other", from: "2026-03-02T09:50Z", to: "2026-03-02T09:54Z" })).rejects.toMatchObject({ code: "ERR_UNKNOWN_METHOD" });
  });
});

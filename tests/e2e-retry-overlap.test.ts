import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { finished, history } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";
import type { RunJson } from "../runtime/host/report-shapes.ts";

const slow = (policy: string) =>
  taskSource({
    schedule: "every(1).seconds",
    // 1.6 s of work on a 1 s grid: every other occurrence finds the previous run still running.
    body: "await new Promise<void>((resolve) => { const t = setTimeout(resolve, 1600); ctx.signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }); });",
    frontmatter: { overlap: policy, timeout: 10 },
  });

describe("retries, overlap policies and the concurrency cap", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create({ scheduler: { max_concurrent_runs: 6 } });
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("retries a failed run, and applies skip, queue, allow and replace", async () => {
    await project.writeTask(
      "flaky.ts",
      taskSource({
        schedule: "every(3).seconds",
        body: 'if (ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt} fails`); ctx.log.info("third time lucky");',
        frontmatter: { retry_count: 2, retry_delay: 0.2 },
      }),
    );
    for (const policy of ["skip", "queue", "allow", "replace"]) await project.writeTask(`overlap-${policy}.ts`, slow(policy));
    await project.start();

    const flaky = await waitFor(async () => {
      const runs = finished(await history(project, "flaky"));
      return runs.some((r) => r.attempt === 3) ? runs : null;
    }, { what: "the third attempt of flaky" });
    const occurrence = flaky.find((r) => r.attempt === 3)!.scheduledFor;
    const attempts = flaky.filter((r) => r.scheduledFor === occurrence).sort((a, b) => a.attempt - b.attempt);
    expect(attempts.map((r) => [r.attempt, r.trigger, r.status])).toEqual([
      [1, "schedule", "failure"],
      [2, "retry", "failure"],
      [3, "retry", "success"],
    ]);
    expect(Date.parse(attempts[1]!.startedAt!) - Date.parse(attempts[0]!.finishedAt!)).toBeGreaterThanOrEqual(150);

    const enough = async (id: string, n: number): Promise<RunJson[]> =>
      waitFor(async () => {
        const runs = finished(await history(project, id));
        return runs.length >= n ? runs : null;
      }, { timeoutMs: 20_000, what: `${n} ended runs of ${id}` });

    const skip = await enough("overlap-skip", 4);
    expect(skip.some((r) => r.status === "skipped" && /overlap: skip/.test(r.error ?? ""))).toBe(true);
    expect(skip.some((r) => r.status === "success")).toBe(true);

    const queue = await enough("overlap-queue", 3);
    const queued = queue.filter((r) => r.status === "success").reverse();
    // Queued runs start only when the previous one ended, later than their occurrence.
    for (let i = 1; i < queued.length; i++) {
      expect(Date.parse(queued[i]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(queued[i - 1]!.finishedAt!));
    }
    expect(queued.some((r) => Date.parse(r.startedAt!) - Date.parse(r.scheduledFor!) > 300)).toBe(true);

    const allow = await enough("overlap-allow", 3);
    const ok = allow.filter((r) => r.status === "success");
    // Two runs overlapped in time.
    const overlapped = ok.some((a) => ok.some((b) => a !== b && Date.parse(a.startedAt!) < Date.parse(b.startedAt!) && Date.parse(b.startedAt!) < Date.parse(a.finishedAt!)));
    expect(overlapped).toBe(true);

    const replace = await enough("overlap-replace", 3);
    expect(replace.some((r) => r.status === "interrupted" && /overlap: replace/.test(r.error ?? ""))).toBe(true);
  });

  it("never runs more than max_concurrent_runs at once", async () => {
    await project.writeConfig({ scheduler: { max_concurrent_runs: 2 } });
    for (let i = 0; i < 5; i++) {
      await project.writeTask(
        `busy-${i}.ts`,
        taskSource({ schedule: "every(2).seconds", body: "await new Promise((r) => setTimeout(r, 500));", frontmatter: { overlap: "queue" } }),
      );
    }
    await project.start();
    const runs = await waitFor(async () => {
      const all = (await Promise.all([0, 1, 2, 3, 4].map((i) => history(project, `busy-${i}`)))).flat();
      const done = finished(all);
      return done.length >= 10 ? done : null;
    }, { timeoutMs: 30_000, what: "ten ended runs" });
    const events = runs.flatMap((r) => [
      { at: Date.parse(r.startedAt!), d: 1 },
      { at: Date.parse(r.finishedAt!), d: -1 },
    ]);
    events.sort((a, b) => a.at - b.at || a.d - b.d);
    let inFlight = 0;
    let peak = 0;
    for (const e of events) {
      inFlight += e.d;
      peak = Math.max(peak, inFlight);
    }
    expect(peak).toBe(2);
    // The third run of a boundary waited for a slot.
    expect(runs.some((r) => Date.parse(r.startedAt!) - Date.parse(r.scheduledFor!) >= 400)).toBe(true);
  });
});

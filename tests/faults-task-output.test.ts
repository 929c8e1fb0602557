import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { finished, history, status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";
import type { RunJson } from "../runtime/host/report-shapes.ts";
import { readHostLog } from "./support/host-log.ts";

/** Tasks that flood stdout or leave a rejection behind: bounded cost, a recorded run, nobody else disturbed. */
describe("runs that flood their output or leave an unhandled rejection", () => {
  let project: TempProject;
  beforeEach(async () => {
    // Several floods at once can hold hundreds of MB in their workers (runs count in the
    // host's RSS): what is tested here is bounded output, not the memory-limit restart.
    project = await TempProject.create({ scheduler: { max_memory_usage: 4000 } });
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("keeps the host, the logs and the ledger bounded, and records each run", async () => {
    await project.writeTask("healthy.ts", taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("alive");' }));
    // ~18 MB in 200,000 lines.
    await project.writeTask(
      "flood-lines.ts",
      taskSource({
        schedule: "every(3).seconds",
        body: 'const pad = "x".repeat(80); for (let i = 0; i < 200_000; i++) console.log(`line ${i} ${pad}`); ctx.log.info("flood done");',
      }),
    );
    // ~20 MB with no newline at all.
    await project.writeTask(
      "flood-one-line.ts",
      taskSource({ schedule: "every(2).seconds", body: 'const chunk = "y".repeat(100_000); for (let i = 0; i < 200; i++) process.stdout.write(chunk);' }),
    );
    await project.writeTask(
      "stray-rejection.ts",
      taskSource({
        schedule: "every(2).seconds",
        body: 'setTimeout(() => void Promise.reject(new Error("rejected after returning")), 20); void Promise.reject(new Error("rejected while returning")); ctx.log.info("returning");',
      }),
    );
    // One nobody handles while the method still runs: Node's rule, the run fails.
    await project.writeTask(
      "stray-mid-run.ts",
      taskSource({ schedule: "every(2).seconds", body: 'void Promise.reject(new Error("stray mid-run")); await new Promise((r) => setTimeout(r, 200));' }),
    );
    const startedAt = Date.now();
    await project.start();

    const firstEnded = async (id: string): Promise<RunJson> =>
      waitFor(async () => finished(await history(project, id)).filter((r) => r.status !== "skipped").at(-1), { timeoutMs: 30_000, what: `a finished run of ${id}` }).catch(
        async (error: Error) => {
          // What the host went through meanwhile (restarts, overload skips), for whoever reads the failure.
          const log = await readHostLog(project.root);
          const notable = log.split("\n").filter((l) => /"event":"(host\.start|host\.stopping|memory\.restart|run\.skipped|run\.end)"/.test(l) && l.includes(id) || /memory\.restart|host\.start/.test(l));
          throw new Error(`${error.message}\n${notable.slice(-15).join("\n")}`);
        },
      );

    const lines = await firstEnded("flood-lines");
    expect(lines.status, lines.error ?? "").toBe("success");
    // The excerpt keeps how it began and how it ended, within its budget.
    expect(lines.output.length).toBeLessThan(20_000);
    expect(lines.output).toContain("line 0 ");
    expect(lines.output).toContain("flood done");
    expect(lines.output).toMatch(/characters omitted/);

    const oneLine = await firstEnded("flood-one-line");
    expect(oneLine.status, oneLine.error ?? "").toBe("success");
    expect(oneLine.output.length).toBeLessThan(20_000);
    expect(oneLine.output).toContain("more characters of this line cut");

    const stray = await firstEnded("stray-rejection");
    expect(stray.status, stray.error ?? "").toBe("success");
    expect(stray.output).toContain("returning");
    // Noted in the run's output, not lost and not fatal.
    expect(stray.output).toContain("unhandled rejection after the run returned (ignored): Error: rejected while returning");

    const midRun = await firstEnded("stray-mid-run");
    expect(midRun.status).toBe("failure");
    expect(midRun.error).toContain("stray mid-run");

    // Run again: the host and its workers are still fine after each.
    for (const id of ["flood-lines", "flood-one-line", "stray-rejection", "stray-mid-run"]) {
      await waitFor(async () => finished(await history(project, id)).filter((r) => r.status !== "skipped").length >= 2, { timeoutMs: 30_000, what: `a second run of ${id}` });
    }

    // tasks.log took a bounded share of the flood: at most its line budget per run, then a note.
    const tasksLog = await readFile(path.join(project.root, "logs", "tasks.log"), "utf8");
    const floodRuns = (await history(project, "flood-lines")).filter((r) => r.status !== "skipped").length;
    expect(tasksLog.split("\n").filter((l) => l.includes("[flood-lines] line ")).length).toBeLessThanOrEqual(2000 * floodRuns);
    expect(tasksLog).toContain("output exceeds 2000 lines");
    // ...and a line without end is cut, not written whole (20 MB would rotate the log away).
    const longest = Math.max(...tasksLog.split("\n").map((l) => l.length));
    expect(longest).toBeLessThan(17 * 1024 + 200);
    expect(tasksLog).toContain("[flood-one-line] yyyy");

    // The healthy task ran every second throughout (a flood once held the host's thread for a second).
    // (On a loaded two-core CI machine an occurrence may still be skipped while the previous
    // one runs late; what must never happen is a failed or cut-off healthy run.)
    const healthy = finished(await history(project, "healthy")).filter((r) => Date.parse(r.scheduledFor!) > startedAt);
    expect(healthy.filter((r) => r.status === "success").length).toBeGreaterThanOrEqual(3);
    expect(healthy.filter((r) => r.status !== "success" && r.status !== "skipped")).toEqual([]);
    const report = await status(project);
    expect(report.host.running).toBe(true);
    expect(report.host.restarts).toBe(0);
  });
});

import type { StatusJson } from "../runtime/host/report-shapes.ts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { status } from "./support/history.ts";

// Issue 11.10 (and 11.9, load errors with file:line): a file with no scheduled method is `manual` and runs with `taskhost run`;
// load warnings are in `status` (`warnings`, each with file:line).

describe("files with no schedule, and load warnings", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create();
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("`export default function` and an undecorated class are manual and run; an unknown field is a warning with file:line", async () => {
    await project.writeTask(
      "plain.ts",
      'import type { TaskContext } from "taskhost";\nexport default async function (ctx: TaskContext) {\n  ctx.log.info("plain ran");\n}\n',
    );
    await project.writeTask(
      "undecorated.ts",
      'import type { TaskContext } from "taskhost";\nexport default class {\n  async go(ctx: TaskContext) {\n    ctx.log.info("undecorated ran");\n  }\n}\n',
    );
    await project.writeTask("typo.ts", taskSource({ schedule: "every(1).hours", body: "", frontmatter: { title: "Typo", timout: 5 } }));
    // 11.9: errors at import time point at the task file's line, without taskhost's frames.
    await project.writeTask("zero.ts", taskSource({ schedule: "every(0).minutes", body: "" }));
    await project.writeTask("cron61.ts", taskSource({ schedule: 'cron("61 * * * *")', body: "" }));
    await project.writeTask("throws.ts", 'const n = 1;\nthrow new Error("boom at import " + n);\nexport default class {}\n');
    await project.writeTask("past.ts", 'import { once } from "taskhost";\nexport default class {\n  @once("2020-01-01T09:00")\n  async start() {}\n}\n');
    await project.writeTask("past2.ts", 'import { once } from "taskhost";\nexport default class {\n  @once("2020-01-01T09:00")\n  async a() {}\n  @once("2020-01-02T09:00")\n  async b() {}\n}\n');
    await project.writeTask("fails.ts", 'export default class {\n  async go() {\n    throw new Error("nope");\n  }\n}\n');
    await project.writeTask("fails-worker.ts", '/* ---\nisolation: worker\n--- */\nexport default class {\n  async go() {\n    throw new Error("nope");\n  }\n}\n');
    const host = await project.start();

    const tasks = new Map((await status(project)).tasks.map((t) => [t.id, t]));
    expect(tasks.get("plain")!.state).toBe("manual");
    expect(tasks.get("undecorated")!.state).toBe("manual");
    expect(tasks.get("typo")!.state).toBe("scheduled");
    expect(tasks.get("typo")!.warnings).toEqual([expect.stringMatching(/^tasks\/typo\.ts:4: unknown frontmatter field "timout".*did you mean "timeout"/)]);
    // At the default export, the line a decorator would go above.
    expect(tasks.get("plain")!.warnings).toEqual([expect.stringMatching(/^tasks\/plain\.ts:2: no method has a schedule decorator/)]);
    expect(tasks.get("undecorated")!.warnings).toEqual([expect.stringMatching(/^tasks\/undecorated\.ts:2: no method/)]);
    // A one-off whose time has passed shows no next run; the warning says why.
    expect(tasks.get("past")!.warnings).toEqual(["tasks/past.ts:3: once at 2020-01-01T09:00 is in the past (or outside start_date/end_date): no occurrence of it is left to come (one missed while the host was down is caught up as catch_up says); `taskhost run past` runs it now"]);
    // With several methods, the command it names must say which (`taskhost run past2` alone is refused).
    expect(tasks.get("past2")!.warnings).toEqual([expect.stringMatching(/`taskhost run past2#a` runs it now$/), expect.stringMatching(/`taskhost run past2#b` runs it now$/)]);

    expect(tasks.get("zero")!.error).toMatch(/^tasks\/zero\.ts:4:\d+: taskhost schedule: every\(0\)\.minutes is invalid/);
    expect(tasks.get("cron61")!.error).toMatch(/^tasks\/cron61\.ts:4:\d+: taskhost schedule: cron\("61 \* \* \* \*"\) is invalid/);
    expect(tasks.get("throws")!.error).toBe("tasks/throws.ts:2:7: boom at import 1");
    for (const id of ["zero", "cron61", "throws"]) expect(tasks.get(id)!.error).not.toMatch(/taskhost-api-|node:internal|data\/cache/);

    const plain = await project.cli(["run", "plain"]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain("plain ran");
    const undecorated = await project.cli(["run", "undecorated"]);
    expect(undecorated.code, undecorated.stderr).toBe(0);
    expect(undecorated.stdout).toContain("undecorated ran");

    // A run started by a message (manual, retry) shows the author's frames only, as a scheduled one does.
    for (const [id, line] of [["fails", 3], ["fails-worker", 6]] as const) {
      const failed = await project.cli(["run", id, "--json"]);
      expect(failed.code).toBe(1);
      const error = (JSON.parse(failed.stdout) as { error: string }).error;
      expect(error, id).toMatch(new RegExp(`^Error: nope\\n\\s+at .*\\(tasks/${id}\\.ts:${line}:\\d+\\)$`));
    }

    const text = await project.cli(["status"]);
    // Its last run is its newest (no schedule's shows it); one never run says so.
    expect(text.stdout).toMatch(/^plain +manual +none \(taskhost run\) +- +success in \d+ ms \(.+\)$/m);
    const live = new Map((await status(project)).tasks.map((t) => [t.id, t]));
    expect(live.get("plain")!.lastRun).toMatchObject({ status: "success", error: null });
    expect(live.get("fails")!.lastRun).toMatchObject({ status: "failure", error: expect.stringMatching(/^Error: nope/) });
    expect(live.get("typo")!.lastRun).toBeUndefined();
    expect(text.stdout).toContain('warnings for typo:\n  tasks/typo.ts:4: unknown frontmatter field "timout"');

    // With no host running, status reads the ledger: a task with no schedule is still manual.
    await host.stop();
    const offline = JSON.parse((await project.cli(["status", "--json"])).stdout) as StatusJson;
    expect(offline.host.running).toBe(false);
    const states = new Map(offline.tasks.map((t) => [t.id, t.state]));
    expect([states.get("plain"), states.get("undecorated"), states.get("typo")]).toEqual(["manual", "manual", "scheduled"]);
    expect(offline.tasks.find((t) => t.id === "plain")!.lastRun).toMatchObject({ status: "success" });
    // And the same warnings, read from the files as the next host will load them.
    const offlineWarnings = new Map(offline.tasks.map((t) => [t.id, t.warnings]));
    for (const id of ["plain", "undecorated", "typo"]) expect(offlineWarnings.get(id), id).toEqual(tasks.get(id)!.warnings);
  });
});

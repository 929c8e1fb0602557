import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { waitFor } from "./support/wait-for.ts";
import { writeScripts } from "./support/scripts.ts";
import { hostEvents } from "./support/fault-host.ts";
import { callHost } from "../runtime/cli/control-client.ts";
import { hostFiles } from "../runtime/host/host-files.ts";
import type { RunJson } from "../runtime/host/report-shapes.ts";

describe("taskhost new, end to end", () => {
  let project: TempProject;
  const runsOf = (task: string) => callHost<RunJson[]>(hostFiles(path.join(project.root, "data")).socket, "history", { task, limit: 50 });
  const finishedRun = (task: string) =>
    waitFor(async () => (await runsOf(task)).find((run) => ["success", "failure", "timeout"].includes(run.status) && run.trigger === "schedule"), { timeoutMs: 30_000, what: `a scheduled run of ${task}` });

  beforeAll(async () => {
    project = await TempProject.create();
    await writeScripts(project);
  });
  afterAll(async () => {
    await project.cleanup();
  });

  it("writes a task for a Python script that the host runs on its schedule, the time first", async () => {
    const made = await project.cli(["new", "etl/py-report", "--script", "scripts/hello.py", "--every", "2 seconds", "--args", "a", "b c", "--timeout", "20"]);
    expect(made.stderr).toBe("");
    expect(made.code).toBe(0);
    expect(made.stdout).toContain("wrote tasks/etl/py-report.ts: Py report, every 2 seconds");
    expect(made.stdout).toMatch(/next runs:\n {2}\w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d[02468]/);
    expect(made.stdout).toContain("no host is running: it runs once one starts");
    const source = await readFile(path.join(project.root, "tasks", "etl", "py-report.ts"), "utf8");
    expect(source).toContain("@repeat(every(2).seconds)");

    await project.start();
    const run = await finishedRun("etl/py-report");
    expect(run).toMatchObject({ status: "success", scheduleId: "etl/py-report#run" });
    expect(run.output).toContain(`python got ${run.scheduledFor} ['a', 'b c']`);
  });

  it("a task written while the host runs is picked up; a failing script fails the run with its exit code", async () => {
    const made = await project.cli(["new", "shell", "--script", "scripts/hello.sh", "--every", "2 seconds", "--", "--flag"]);
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/the running host \(pid \d+\) picks it up at once/);
    const run = await finishedRun("shell");
    expect(run.status).toBe("success");
    expect(run.output).toContain(`shell got ${run.scheduledFor} (2 args)`);
    expect(run.output).toContain("to stderr");

    expect((await project.cli(["new", "failing", "--script", "scripts/fails.sh", "--every", "2 seconds", "--retries", "0"])).code).toBe(0);
    const failed = await finishedRun("failing");
    expect(failed.status).toBe("failure");
    expect(failed.error).toContain("exit code 3");
    expect(failed.output).toContain("about to fail");
  });

  it("says a host that does not watch the tasks folder will not load the new task until told", async () => {
    await project.writeConfig({ tasks: { reload_on_change: false } });
    await waitFor(async () => (await hostEvents(project, "config.reloaded")).some((e) => String(e.changed) === "tasks.reload_on_change"), { what: "config.reloaded" });
    const made = await project.cli(["new", "unwatched", "--script", "scripts/hello.sh", "--every", "2 seconds"]);
    expect(made.code).toBe(0);
    expect(made.stdout).not.toContain("picks it up");
    expect(made.stdout).toMatch(/the running host \(pid \d+\) does not watch the tasks folder \(tasks\.reload_on_change: false\).*restart the host.*set tasks\.reload_on_change: true/);
    // As said: re-enabling it loads the task.
    await project.writeConfig({});
    const run = await finishedRun("unwatched");
    expect(run.status).toBe("success");
  });

  it("refuses bad input with the reason and the flag, writing nothing", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["new", "x", "--script", "scripts/hello.py", "--cron", "0 9 * *"], /--cron\/--every: .*cron\("0 9 \* \*"\) is invalid/],
      [["new", "x", "--script", "scripts/hello.py", "--every", "5 minutes", "--cron", "* * * * *"], /give one schedule, not cron and every/],
      [["new", "x", "--script", "config/config.yaml"], /--script: script "config\/config.yaml" is not inside an allowed script folder \(scripts; see authoring.script_dirs\)/],
      [["new", "x", "--script", "scripts/hello.py", "--timeout", "soon"], /taskhost new: --timeout: must be a number of seconds > 0, got "soon"\n$/],
      [["new", "x", "--script", "scripts/hello.py", "--overlap", "sometimes"], /taskhost new: --overlap: must be one of skip, queue, allow, replace, got "sometimes"\n$/],
      [["new", "../x", "--script", "scripts/hello.py"], /<id>: task id "..\/x" is not allowed/],
      [["new", "shell", "--script", "scripts/hello.py"], /tasks\/shell.ts exists already/],
    ];
    for (const [args, message] of cases) {
      const result = await project.cli(args);
      expect(result.code, args.join(" ")).toBe(1);
      expect(result.stderr, args.join(" ")).toMatch(message);
    }
    await expect(readFile(path.join(project.root, "tasks", "x.ts"))).rejects.toThrow();
  });
});

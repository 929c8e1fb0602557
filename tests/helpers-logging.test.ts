import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, TempProject } from "./support/temp-project.ts";
import { executeCommand } from "../helpers/index.ts";

const probe = (title: string, body: string) => `/*
---
title: "${title}"
---
*/
import { repeat, every } from "taskhost";
import { log, logTaskStart, logTaskComplete, logTaskError, logStructuredData, logExecutionResult } from "taskhost/helpers";

// Called without any context: the helpers find the run on their own.
function deepInLibraryCode(n: number) {
  log.info("library line %d", n);
}

export default class {
  @repeat(every().day.at("04:00"))
  async start() {
${body}
  }
}
`;

describe("log helpers inside a run (end to end)", () => {
  let project: TempProject;
  let tasksLog: string;
  let errorsLog: string;
  beforeAll(async () => {
    project = await TempProject.create();
    await project.writeTask(
      "alpha.ts",
      probe(
        "Alpha Probe",
        `    logTaskStart({ source: "s3" });
    deepInLibraryCode(7);
    log.warn("careful");
    logStructuredData("metrics", { rows: 3, err: new Error("inner") });
    logExecutionResult({ command: "rsync -a x y", success: false, exitCode: 23, durationMs: 12, stderr: "partial transfer" });
    logTaskError(new Error("alpha exploded"), "upload");
    logTaskComplete({ durationMs: 5 });`,
      ),
    );
    await project.writeTask("beta.ts", probe("Beta Probe", `    deepInLibraryCode(8);`));
    await project.start();
    const [a, b] = await Promise.all([project.cli(["run", "alpha"]), project.cli(["run", "beta"])]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    tasksLog = await readFile(path.join(project.root, "logs", "tasks.log"), "utf8");
    errorsLog = await readFile(path.join(project.root, "logs", "errors.log"), "utf8");
  });
  afterAll(async () => {
    await project?.cleanup();
  });

  it("prefixes every line with the running task's title", () => {
    expect(tasksLog).toMatch(/^\S+Z INFO \[Alpha Probe\] task started \{"source":"s3"\}$/m);
    expect(tasksLog).toMatch(/^\S+Z INFO \[Alpha Probe\] library line 7$/m);
    expect(tasksLog).toMatch(/^\S+Z INFO \[Beta Probe\] library line 8$/m);
    expect(tasksLog).toMatch(/^\S+Z WARN \[Alpha Probe\] careful$/m);
    expect(tasksLog).toMatch(/^\S+Z INFO \[Alpha Probe\] metrics \{"rows":3,"err":\{"name":"Error","message":"inner","stack":"Error: inner\\n {4}at /m);
    expect(tasksLog).toMatch(/^\S+Z WARN \[Alpha Probe\] rsync -a x y: failed \(exit 23, 12 ms\)$/m);
    expect(tasksLog).toMatch(/^\S+Z INFO \[Alpha Probe\] task completed \{"durationMs":5\}$/m);
    expect(tasksLog).not.toMatch(/\[Beta Probe\] library line 7|\[Alpha Probe\] library line 8/);
  });

  it("writes errors with their stack trace to tasks.log and errors.log", () => {
    for (const text of [tasksLog, errorsLog]) {
      // The host writes a multi-line message as lines of their own, each with the prefix.
      expect(text).toMatch(/ERROR \[Alpha Probe\] task error \(upload\): Error: alpha exploded\n\S+Z ERROR \[Alpha Probe\] +at .*tasks\/alpha\.ts:\d+/);
    }
    expect(errorsLog).not.toContain("library line");
  });

  it("outside a run, writes to the console under the script title", async () => {
    const result = await executeCommand(process.execPath, {
      args: ["--import", "tsx", "-e", 'import("./helpers/index.ts").then((h) => { h.log.info("one"); h.setScriptLogTitle("backfill"); h.log.error("two"); })'],
      cwd: REPO,
      timeout: 30,
    });
    expect(result.stdout).toMatch(/^\S+Z INFO \[script\] one\n$/);
    expect(result.stderr).toMatch(/^\S+Z ERROR \[backfill\] two\n$/);
  });
});

/*
---
title: "Helper Showcase"
description: "One tour of every helper: logging, config, commands, steps, files and notifications."
timeout: 60
---
*/
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { repeat, every, type TaskContext } from "taskhost";
import {
  executeCommand,
  getConfigValue,
  getProjectRoot,
  log,
  logExecutionResult,
  logStructuredData,
  logTaskComplete,
  logTaskError,
  logTaskStart,
  runSteps,
  sendNotification,
  waitForFile,
  writeFileAtomic,
} from "taskhost/helpers";

export default class HelperShowcase {
  @repeat(every().day.at("12:00"))
  async tour(ctx: TaskContext) {
    const started = Date.now();
    // Logging: no task name passed — the helpers know which run they are in.
    logTaskStart({ trigger: ctx.trigger });
    log.info("plain line, %s formatting works", "printf-style");

    // Configuration with a default.
    const label = getConfigValue("label", "example_helper_showcase.yaml", "showcase");

    const dir = path.join(getProjectRoot(), "data", "example_helper_showcase");
    await mkdir(dir, { recursive: true });

    // Steps, each logged; the values they return are handed to later steps.
    const workflow = await runSteps([
      { name: "node version", run: async () => (await executeCommand(process.execPath, { args: ["--version"] })).stdout.trim() },
      {
        name: "write file",
        run: ({ results }) => {
          const file = path.join(dir, `${label}.txt`);
          writeFileAtomic(file, `node ${String(results["node version"])} at ${new Date().toISOString()}\n`);
          return file;
        },
      },
      { name: "file settled", run: ({ results }) => waitForFile(String(results["write file"]), { stableFor: 0.2, timeout: 5 }) },
    ]);
    logStructuredData("steps", workflow.steps.map((s) => ({ name: s.name, status: s.status, ms: s.durationMs })));

    // A failing command is a result, not an exception.
    const missing = await executeCommand("definitely-not-a-command-xyz");
    logExecutionResult(missing);

    // Errors with their stack trace, without failing the run.
    try {
      JSON.parse("{ not json");
    } catch (error) {
      logTaskError(error, "parsing a sample");
    }

    // Notifications report whether they were shown.
    const shown = await sendNotification({ title: "Helper showcase", message: "tour finished", urgency: "low" });
    logStructuredData("notification", shown);

    await writeFile(path.join(dir, "last-run.json"), JSON.stringify({ at: new Date().toISOString() }));
    logTaskComplete({ durationMs: Date.now() - started });
  }
}

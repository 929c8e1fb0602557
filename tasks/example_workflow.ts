/*
---
title: "Workflow"
description: "Nightly export → wait for the file to settle → transform → archive, as named steps."
timeout: 120
---
*/
// The workflow scheduler's job: commands in order, each waiting for the files
// the previous one writes, with per-step retries, stopping at the first failure
// (unless continueOnFailure). Each step is logged, and runSteps throws at the
// end if one failed, so the run is recorded as failed with the step named.
import { readFile, rename, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { repeat, every, type TaskContext } from "taskhost";
import { executeCommand, getProjectRoot, runSteps, waitForFile, type ExecutionResult, type SettledFile } from "taskhost/helpers";

// Stands in for an external exporter: writes a CSV in chunks over about a second.
const EXPORTER = `
const fs = require("node:fs");
const out = process.argv[1];
fs.writeFileSync(out, "id,value\\n");
let i = 0;
const timer = setInterval(() => {
  fs.appendFileSync(out, Array.from({ length: 50 }, (_, k) => \`\${i * 50 + k},\${Math.round(Math.random() * 1000)}\`).join("\\n") + "\\n");
  if (++i === 5) clearInterval(timer);
}, 200);
`;

export default class Workflow {
  @repeat(every().day.at("02:00"))
  async nightly(ctx: TaskContext) {
    const dir = path.join(getProjectRoot(), "data", "example_workflow");
    const exportFile = path.join(dir, "export.csv");
    await mkdir(path.join(dir, "archive"), { recursive: true });
    let exporter: Promise<ExecutionResult> | undefined;

    const result = await runSteps([
      {
        // Start the exporter, but do not wait for it: the next step watches its output.
        name: "start export",
        run: () => {
          exporter = executeCommand(process.execPath, { args: ["-e", EXPORTER, exportFile], timeout: 30 });
        },
      },
      {
        // Exists, and size and mtime unchanged for 0.5 s: the exporter is done writing.
        name: "wait for export",
        run: () => waitForFile(exportFile, { timeout: 30, stableFor: 0.5, pollInterval: 0.1 }),
      },
      {
        name: "check exporter",
        run: async () => {
          const done = await exporter!;
          if (!done.success) throw new Error(`exporter failed: ${done.error}\n${done.stderr}`);
        },
      },
      {
        name: "transform",
        retries: 2,
        retryDelay: 1,
        run: async ({ results }) => {
          const settled = results["wait for export"] as SettledFile;
          const lines = (await readFile(settled.path, "utf8")).trim().split("\n").slice(1);
          const total = lines.reduce((sum, line) => sum + Number(line.split(",")[1]), 0);
          await writeFile(path.join(dir, "summary.json"), JSON.stringify({ rows: lines.length, total }, null, 2));
          return { rows: lines.length, total };
        },
      },
      {
        name: "archive",
        run: async () => {
          const target = path.join(dir, "archive", `export-${new Date().toISOString().replace(/[:.]/g, "-")}.csv`);
          await rename(exportFile, target);
          return target;
        },
      },
    ]);
    const summary = result.steps.find((s) => s.name === "transform")?.value as { rows: number; total: number };
    ctx.log.info(`exported ${summary.rows} rows, total value ${summary.total}`);
  }
}

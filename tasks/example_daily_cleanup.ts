/*
---
title: "Daily Cleanup"
description: "Every night, deletes rotated logs and generated data older than a number of days."
timeout: 120
---
*/
// What is removed, and after how many days, comes from config/example_daily_cleanup.yaml
// (every key optional):
//
//   max_age_days: 14
//   dry_run: false          # true: only log what would be deleted
//   directories:            # relative to the project root; only files directly inside
//     - data/reports
//     - data/example_web_fetch
//     - data/example_workflow/archive
//
// Log files the host writes now (the targets of logs/*.log links) are never touched.
import { lstat, readdir, readlink, rm } from "node:fs/promises";
import path from "node:path";
import { repeat, every, type TaskContext } from "taskhost";
import { getConfigValue, getProjectRoot, logStructuredData, logTaskComplete, logTaskStart } from "taskhost/helpers";

const DAY_MS = 24 * 60 * 60 * 1000;

export default class DailyCleanup {
  @repeat(every().day.at("03:30"))
  async cleanup(ctx: TaskContext) {
    const root = getProjectRoot();
    const maxAgeDays = getConfigValue("max_age_days", "example_daily_cleanup.yaml", 14);
    const dryRun = getConfigValue("dry_run", "example_daily_cleanup.yaml", false);
    const dataDirs = getConfigValue("directories", "example_daily_cleanup.yaml", [
      "data/reports",
      "data/example_web_fetch",
      "data/example_workflow/archive",
    ]);
    const logsDir = path.join(root, getConfigValue("logging.directory", "config.yaml", "logs"));
    logTaskStart({ maxAgeDays, dryRun });

    const cutoff = Date.now() - maxAgeDays * DAY_MS;
    let removed = 0;
    let bytes = 0;
    const sweep = async (dir: string, keep: Set<string>) => {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        return; // Not there (yet): nothing to clean.
      }
      for (const name of names) {
        if (ctx.signal.aborted) return;
        const file = path.join(dir, name);
        const info = await lstat(file);
        // Only plain old files: never folders, links, or what is being written now.
        if (!info.isFile() || keep.has(file) || info.mtimeMs >= cutoff) continue;
        ctx.log.info(`${dryRun ? "would delete" : "deleting"} ${path.relative(root, file)} (${Math.round((Date.now() - info.mtimeMs) / DAY_MS)} days old)`);
        if (!dryRun) await rm(file, { force: true });
        removed++;
        bytes += info.size;
      }
    };

    await sweep(logsDir, await activeLogFiles(logsDir));
    for (const dir of dataDirs) await sweep(path.resolve(root, dir), new Set());

    logStructuredData("cleanup", { removed, megabytes: +(bytes / 1e6).toFixed(2), dryRun });
    logTaskComplete();
  }
}

/** The files logs/scheduler.log, tasks.log and errors.log point to: in use by the host. */
async function activeLogFiles(dir: string): Promise<Set<string>> {
  const active = new Set<string>();
  for (const name of ["scheduler.log", "tasks.log", "errors.log"]) {
    const link = path.join(dir, name);
    active.add(link);
    try {
      active.add(path.resolve(dir, await readlink(link)));
    } catch {
      // A plain file (or missing): the name itself is kept.
    }
  }
  return active;
}

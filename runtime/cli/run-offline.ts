import { taskhostError } from "../errors.ts";
import path from "node:path";
import { createLogs } from "../logging/create-logs.ts";
import { Scheduler } from "../scheduler/scheduler.ts";
import { createHostLauncher } from "../run/isolates/host-launcher.ts";
import { attachRunLogs } from "../run-logs/attach-run-logs.ts";
import { prepareToolchain } from "../task-file/toolchain.ts";
import { TaskCatalog } from "../host/task-catalog.ts";
import { runJson, type RunJson } from "../host/report-shapes.ts";
import { withLedger } from "./offline-ledger.ts";
import { PACKAGE_DIR } from "../runtime-paths.ts";
import { DependencyInstaller } from "../deps/install-dependencies.ts";
import type { CliContext } from "./cli-context.ts";
import { fleetHost } from "../host/fleet-host.ts";

/** `taskhost run` with no host: load the one task and run it here, recording the run. */
export async function runOffline(ctx: CliContext, taskId: string, method: string | undefined): Promise<RunJson> {
  const { config } = ctx;
  const logs = await createLogs({
    level: config.logging.level,
    directory: config.logging.directory,
    maxSizeBytes: config.logging.maxSizeBytes,
    rotation: config.logging.rotation,
    retention: config.logging.retention,
  });
  try {
    return await withLedger(ctx, true, async (ledger) => {
      process.env.TASKHOST_PROJECT_ROOT = config.projectRoot;
      process.env.TASKHOST_PACKAGE_DIR ??= PACKAGE_DIR;
      const toolchain = await prepareToolchain(ctx.files.cacheDir);
      const hostLauncher = await createHostLauncher({
        cacheDir: ctx.files.cacheDir,
        projectRoot: config.projectRoot,
        workerEntryFile: toolchain.entryFile,
        config: () => config,
        log: (message) => logs.host.warn({ event: "run.note" }, message),
        // One run: no pool to warm ahead (an unused launcher holds no thread).
        warm: false,
      });
      const logged = attachRunLogs({ launcher: hostLauncher, ledger }, () => config.logging.directory, (error) =>
        logs.host.warn({ event: "run_log.failed", err: error }, `run log files: ${String(error)}`),
      );
      const launcher = logged.launcher;
      // On a fleet's ledger this command is a host while it runs (the others would take an unknown host's run over).
      const fleet = fleetHost(ledger, { projectRoot: config.projectRoot, configPath: config.configPath, pid: process.pid, log: logs.host });
      const scheduler = new Scheduler({
        ledger: logged.ledger,
        launcher,
        isolationOf: hostLauncher.isolationOf,
        log: logs.host,
        taskLog: (title, level, message) => logs.task(title, level, message),
        maxConcurrentRuns: config.scheduler.maxConcurrentRuns,
        historyPerTask: config.database.historyPerTask,
        owner: fleet.owner,
        shared: fleet.shared,
      });
      const dependencies = new DependencyInstaller({
        registry: config.dependencies.registry,
        installTimeoutSec: config.dependencies.installTimeoutSec,
        dataDir: ctx.files.dataDir,
      });
      const catalog = new TaskCatalog({
        dependencies,
        projectRoot: config.projectRoot,
        tasksDir: config.tasks.directory,
        includeExamples: true,
        toolchain,
        defaultZone: config.scheduler.timezone,
        ledger,
        scheduler,
        log: logs.host,
      });
      const entry = await catalog
        .load(path.join(config.tasks.directory, `${taskId}.ts`))
        .finally(() => Promise.all([dependencies.close(), toolchain.inspector.dispose()]));
      if (!entry.loaded) throw taskhostError("ERR_TASK_LOAD", entry.error ?? `taskhost: task "${taskId}" did not load`);
      try {
        if (fleet.shared) await fleet.join(scheduler);
        return runJson(await scheduler.runNow(taskId, method));
      } finally {
        await scheduler.stop(0);
        await launcher.close();
        await fleet.close();
      }
    });
  } finally {
    await logs.close();
  }
}

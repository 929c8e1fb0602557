import os from "node:os";
import path from "node:path";
import { configProblem, loadConfigOrLastGood, saveLastGoodConfig, type ConfigProblem } from "../config/last-good-config.ts";
import type { ResolvedConfig } from "../config/config-options.ts";
import { createLogs, type Logs } from "../logging/create-logs.ts";
import { openLedger } from "../store/open-ledger.ts";
import { Scheduler } from "../scheduler/scheduler.ts";
import { createHostLauncher } from "../run/isolates/host-launcher.ts";
import { attachRunLogs } from "../run-logs/attach-run-logs.ts";
import { Backfills } from "../backfill/backfills.ts";
import { BackfillJobFiles } from "../backfill/backfill-job-files.ts";
import { hostBackfillTarget } from "../backfill/host-backfill-target.ts";
import { backfillHandlers } from "../backfill/backfill-control.ts";
import type { HostLog } from "../scheduler/scheduler-types.ts";
import { prepareToolchain } from "../task-file/toolchain.ts";
import type { Watching } from "../watch/watch-paths.ts";
import { acquireHostLock, supervisedLock } from "./host-lock.ts";
import { watchMemory } from "./watch-memory.ts";
import { mb } from "../run/run-memory-book.ts";
import { hostFiles } from "./host-files.ts";
import { TaskCatalog } from "./task-catalog.ts";
import { startControlServer, type ControlServer } from "./control-server.ts";
import { hostStatus } from "./build-status.ts";
import { controlHandlers } from "./control-handlers.ts";
import { watchTasks } from "./watch-tasks.ts";
import { watchConfig } from "./watch-config.ts";
import { DependencyInstaller } from "../deps/install-dependencies.ts";
import { startAlerting } from "../alerts/start-alerting.ts";
import { runJson } from "./report-shapes.ts";
import { PACKAGE_DIR } from "../runtime-paths.ts";
import { startDashboard, type Dashboard } from "../dashboard/start-dashboard.ts";
import { fleetHost } from "./fleet-host.ts";

export interface HostOptions {
  projectRoot: string;
  /** Absolute or relative to the project root. */
  configPath: string;
  /** Also print log lines on stdout (foreground). */
  console?: boolean;
  /** Started by a supervisor (which holds the lock): its PID is the host's public PID. */
  supervisorPid?: number;
  /** How many times the supervisor has restarted the host so far. */
  restarts?: number;
}

export interface StopOptions {
  reason?: string;
  /** Seconds running tasks get; default `scheduler.shutdown_grace`. */
  graceSec?: number;
  /** Ask the supervisor to start a fresh host after this one stops. */
  restart?: boolean;
  /** What runs cut off by the stop record as their error; default "the host is shutting down". */
  runsReason?: string;
}

export interface Host {
  /** The PID users see: the supervisor's when there is one. */
  readonly pid: number;
  config(): ResolvedConfig;
  /** Graceful stop; safe to call twice (the second call waits for the first). */
  stop(options?: StopOptions): Promise<void>;
  /** Resolves once the host has stopped (after stop(), a `stop`/`restart` request, or the memory limit). */
  readonly stopped: Promise<{ restart: boolean }>;
}

/** A stopping host gets shutdown_grace for its runs, and then this long to close the ledger. */
const LEDGER_LOCK_MARGIN_SEC = 30;

function logsFor(config: ResolvedConfig, console: boolean): Promise<Logs> {
  return createLogs(config.logging, { console });
}

/**
 * Starts a host in this process: config, the one-host lock, logs, the ledger,
 * every task file, the control socket, the scheduler and the watchers, in that
 * order. A step that fails undoes the ones before it and throws an error naming
 * the file.
 */
export async function startHost(options: HostOptions): Promise<Host> {
  const startedAt = Date.now();
  const consoleOn = options.console ?? false;
  // A bad config.yaml does not keep a host down that ran before: the last good copy is used.
  const initial = loadConfigOrLastGood(options.configPath, options.projectRoot);
  let config = initial.config;
  let problem: ConfigProblem | null = initial.problem;
  const files = hostFiles(path.dirname(config.database.path));
  // The lock comes before the logs: a second host must not write into the first one's files.
  const lock = options.supervisorPid
    ? await supervisedLock(files.pidFile, options.supervisorPid)
    : await acquireHostLock(files.pidFile);
  const publicPid = options.supervisorPid ?? process.pid;
  let logs: Logs;
  try {
    logs = await logsFor(config, consoleOn);
  } catch (error) {
    await lock.release();
    throw error;
  }
  // Components log through this, so a reload can swap the log files under them.
  const log: HostLog = {
    debug: (obj, msg) => logs.host.debug(obj, msg),
    info: (obj, msg) => logs.host.info(obj, msg),
    warn: (obj, msg) => logs.host.warn(obj, msg),
    error: (obj, msg) => logs.host.error(obj, msg),
  };
  for (const warning of initial.warnings) log.warn({ event: "config.warning", key: warning.key }, warning.message);
  if (problem) {
    log.error(
      { event: "config.invalid", file: problem.file, since: problem.since, lastGoodSavedAt: problem.lastGoodSavedAt, error: problem.error },
      `${problem.file} is invalid (since ${problem.since}); running on the last good configuration (saved ${problem.lastGoodSavedAt}) until it is fixed: ${problem.error}`,
    );
  }

  const undo: Array<() => Promise<void>> = [() => logs.close(), () => lock.release()];
  try {
    const ledger = await openLedger(config.database, {
      // A fleet's database may be starting too (a reboot): wait for it rather than fail the host.
      waitForDatabase: true,
      onWarning: (message) => log.warn({ event: "store.warning" }, message),
      // A host that lost its supervisor may still be finishing its runs and writing the ledger.
      lockWaitMs: (config.scheduler.shutdownGraceSec + LEDGER_LOCK_MARGIN_SEC) * 1000,
      onLockWait: (holder) =>
        log.warn(
          { event: "ledger.lock_wait", holderPid: holder?.pid ?? null },
          `waiting for ${holder ? `process ${holder.pid}` : "another process"} to finish writing the ledger (a previous host still stopping)`,
        ),
    });
    undo.push(() => ledger.close());
    // The host's part in a fleet when other hosts share the ledger (PostgreSQL); a single host's otherwise.
    const fleet = fleetHost(ledger, { projectRoot: config.projectRoot, configPath: config.configPath, pid: publicPid, log });
    undo.push(() => fleet.close());
    // Task code asks helpers where the project is; workers inherit the environment.
    process.env.TASKHOST_PROJECT_ROOT = config.projectRoot;
    // …and where they may write (saveConfig: data/config/), writable under the systemd unit.
    process.env.TASKHOST_DATA_DIR = files.dataDir;
    // Helpers load node-notifier, sql.js and tsx from taskhost's own install.
    process.env.TASKHOST_PACKAGE_DIR ??= PACKAGE_DIR;
    const toolchain = await prepareToolchain(files.cacheDir);
    undo.push(() => toolchain.inspector.dispose());
    // Runs go where each task's isolation says (issue 13): a warm pooled context by default;
    // each run's whole output also goes to logs/runs/<task>/<run>.log, removed with its run.
    const hostLauncher = await createHostLauncher({
      cacheDir: files.cacheDir,
      projectRoot: config.projectRoot,
      workerEntryFile: toolchain.entryFile,
      config: () => config,
      log: (message) => log.warn({ event: "run.note" }, message),
    });
    const logged = attachRunLogs({ launcher: hostLauncher, ledger }, () => config.logging.directory, (error) =>
      log.warn({ event: "run_log.failed", err: error }, `run log files: ${String(error)}`),
    );
    const launcher = logged.launcher;
    undo.push(() => launcher.close());
    const scheduler = new Scheduler({
      ledger: logged.ledger,
      launcher,
      isolationOf: hostLauncher.isolationOf,
      log,
      taskLog: (title, level, message) => logs.task(title, level, message),
      maxConcurrentRuns: config.scheduler.maxConcurrentRuns,
      historyPerTask: config.database.historyPerTask,
      owner: fleet.owner,
      shared: fleet.shared,
    });
    const interrupted = await fleet.join(scheduler);
    if (interrupted > 0) {
      log.warn({ event: "runs.interrupted", count: interrupted }, `${interrupted} run(s) were cut off when the previous host stopped; recorded as interrupted`);
    }
    const installerFor = (c: ResolvedConfig) =>
      new DependencyInstaller({ registry: c.dependencies.registry, installTimeoutSec: c.dependencies.installTimeoutSec, dataDir: files.dataDir });
    let installer = installerFor(config);
    // npm runs in its own process group: it must not outlive the host.
    undo.push(() => installer.close());
    const catalog = new TaskCatalog({
      dependencies: installer,
      projectRoot: config.projectRoot,
      tasksDir: config.tasks.directory,
      includeExamples: config.tasks.includeExampleTasks,
      toolchain,
      defaultZone: config.scheduler.timezone,
      ledger,
      scheduler,
      log,
    });
    await catalog.scan();
    fleet.watchCatalog(catalog);
    const backfills = new Backfills({
      target: hostBackfillTarget({ catalog, listRunsBetween: (from, to, range) => ledger.listRunsBetween(from, to, range), scheduler }),
      files: new BackfillJobFiles(path.join(files.dataDir, "backfills")),
      log,
    });
    undo.push(() => backfills.close());
    let dashboard: Dashboard | null = null;
    const alerting = startAlerting({
      scheduler,
      catalog,
      store: ledger,
      metrics: config.metrics.enabled ? { restarts: options.restarts ?? 0, startedAt } : null,
      config: () => config,
      host: { id: fleet.owner, hostname: os.hostname() },
      dashboardUrl: () => (config.dashboard.enabled ? (dashboard?.url ?? null) : null),
      runJson: (run) => ({ ...runJson(run) }),
      recentRuns: (taskId) => ledger.listRuns(taskId, { limit: 50 }),
      log,
    });
    undo.push(async () => alerting.close());

    const helperDirs = [path.join(config.projectRoot, "helpers")];
    let taskWatcher: Watching | null = null;
    const setTaskWatching = async (on: boolean) => {
      await taskWatcher?.close();
      taskWatcher = on ? await watchTasks({ catalog, helperDirs, log }) : null;
    };
    await setTaskWatching(config.tasks.reloadOnChange);
    undo.push(() => setTaskWatching(false));

    // What this host runs on is the configuration the next start falls back on.
    let lastGoodSavedAt: string | null = initial.problem?.lastGoodSavedAt ?? null;
    const keepAsLastGood = async (source: string | null) => {
      try {
        lastGoodSavedAt = await saveLastGoodConfig(files.dataDir, source);
      } catch (error) {
        log.warn({ event: "config.save_failed", err: error }, `could not keep a copy of the configuration in ${files.dataDir}: ${String(error)}`);
      }
    };
    if (!problem) await keepAsLastGood(initial.source);
    const applyConfig = async (next: ResolvedConfig, changed: string[]) => {
      const has = (prefix: string) => changed.some((key) => key.startsWith(prefix));
      if (has("logging.") && changed.every((key) => key === "logging.level" || !key.startsWith("logging."))) {
        logs.setLevel(next.logging.level);
      } else if (has("logging.")) {
        // Build the new log files before letting go of the old ones.
        const fresh = await logsFor(next, consoleOn);
        const old = logs;
        logs = fresh;
        await old.close();
      }
      scheduler.configure({ maxConcurrentRuns: next.scheduler.maxConcurrentRuns, historyPerTask: next.database.historyPerTask });
      for (const key of ["database.path", "dashboard.enabled", "dashboard.host", "dashboard.port", "metrics.enabled"]) {
        if (changed.includes(key)) log.warn({ event: "config.restart_needed", key }, `${key} changes take effect when the host restarts`);
      }
      if (has("dependencies.")) {
        // Installs already running finish with the old settings; new ones use the new.
        const old = installer;
        installer = installerFor(next);
        catalog.configure({ dependencies: installer });
        void old.close().catch(() => {});
      }
      const dirChanged = changed.includes("tasks.directory");
      if (dirChanged) await setTaskWatching(false);
      catalog.configure({
        tasksDir: next.tasks.directory,
        includeExamples: next.tasks.includeExampleTasks,
        defaultZone: next.scheduler.timezone,
      });
      config = next;
      if (has("alerts.") || has("notifications.")) alerting.configure();
      // Watch the new folder before listing it: an edit right after its tasks show up is seen.
      if (dirChanged || changed.includes("tasks.reload_on_change")) await setTaskWatching(next.tasks.reloadOnChange);
      if (changed.includes("scheduler.timezone")) await catalog.scan({ force: true });
      else if (dirChanged || changed.includes("tasks.include_example_tasks")) await catalog.scan();
    };
    const configWatcher = await watchConfig({
      configPath: config.configPath,
      projectRoot: config.projectRoot,
      current: () => config,
      apply: applyConfig,
      log: () => log,
      rejected: (error) => {
        problem = configProblem(config.configPath, config.projectRoot, error, problem?.lastGoodSavedAt ?? lastGoodSavedAt);
      },
      accepted: async (source) => {
        // Kept first: once status stops saying "invalid", the next restart starts on this.
        await keepAsLastGood(source);
        if (problem) log.info({ event: "config.valid", file: problem.file }, `${problem.file} is valid again and in force`);
        problem = null;
      },
    });
    undo.push(() => configWatcher.close());

    let stopping: Promise<void> | null = null;
    let resolveStopped: (result: { restart: boolean }) => void = () => {};
    const stopped = new Promise<{ restart: boolean }>((resolve) => (resolveStopped = resolve));
    let control: ControlServer | null = null;
    let stopMemoryWatch = () => {};
    // A stop asked for while a restart is under way (SIGHUP, then SIGTERM as a terminal
    // closes) turns it into a plain stop; the runs keep the grace they were given.
    let restartWanted = true;
    const stop = ({ reason = "stop requested", graceSec, restart = false, runsReason }: StopOptions = {}) => {
      if (!restart) restartWanted = false;
      stopping ??= (async () => {
        const grace = graceSec ?? config.scheduler.shutdownGraceSec;
        log.info(
          { event: "host.stopping", reason, restart, running: scheduler.runningCount },
          `${restart ? "restarting" : "stopping"} (${reason}); ${scheduler.runningCount} run(s) in flight get ${grace}s`,
        );
        stopMemoryWatch();
        alerting.close();
        await configWatcher.close();
        await setTaskWatching(false);
        await dashboard?.close();
        await installer.close();
        await toolchain.inspector.dispose();
        // No backfill run starts once stopping; one in flight ends with the scheduler, and the next host resumes.
        await backfills.close();
        await scheduler.stop(grace * 1000, runsReason);
        await launcher.close();
        await fleet.close();
        // Commands keep working while runs get their grace (`status` shows them); a run
        // request meanwhile is refused by the stopping scheduler with a clear message.
        await control?.close();
        await ledger.close();
        log.info({ event: "host.stop", reason, restart, uptimeSec: Math.round((Date.now() - startedAt) / 1000) }, "host stopped");
        await lock.release();
        await logs.close();
        resolveStopped({ restart: restart && restartWanted });
      })();
      return stopping;
    };
    const stopSoon = (stopOptions: StopOptions) => {
      // Answer first, then stop: the caller waits for the host to go away.
      setImmediate(() => void stop(stopOptions).catch((error: unknown) => log.error({ event: "host.stop.failed", err: error }, String(error))));
    };
    const status = async () => ({
      ...(await fleet.withVersionWarnings(await hostStatus(catalog, scheduler, ledger, {
        running: true,
        pid: publicPid,
        uptimeSec: Math.round((Date.now() - startedAt) / 1000),
        rssMb: Math.round((process.memoryUsage.rss() / 1024 / 1024) * 10) / 10,
        restarts: options.restarts ?? 0,
        configError: problem,
      }, config.scheduler.isolation))),
      alerts: { channels: alerting.channels() },
    });
    control = await startControlServer(
      files.socket,
      {
        ...controlHandlers({ pid: publicPid, catalog, scheduler, ledger, status, stop: stopSoon }),
        ...backfillHandlers(backfills),
        alerts: (params) => alerting.listAlerts({ limit: typeof params.limit === "number" ? params.limit : 50, taskId: typeof params.task === "string" ? params.task : undefined }),
      },
      (error) => log.error({ event: "control.error", err: error }, `control socket: ${String(error)}`),
    );
    undo.push(() => control!.close());
    if (config.dashboard.enabled || config.metrics.enabled) {
      dashboard = await startDashboard({ catalog, scheduler, ledger, status, log, config: () => config, dataDir: files.dataDir, metrics: alerting.metrics, alerting, backfills });
      undo.push(() => dashboard!.close());
    }
    scheduler.start();
    void backfills.resume().catch((error: unknown) => log.error({ event: "backfill.resume_failed", err: error }, `resuming backfills: ${String(error)}`));
    stopMemoryWatch = watchMemory({
      intervalSec: () => config.scheduler.memoryCheckIntervalSec,
      limitBytes: () => config.scheduler.maxMemoryUsageBytes,
      onLimit: (figures, reason) => {
        const [rssMb, ownMb, runsMb, limitMb] = [figures.rssBytes, figures.ownBytes, figures.runsBytes, figures.limitBytes].map(mb);
        log.warn({ event: "memory.restart", rssMb, ownMb, runsMb, limitMb }, `${reason}: restarting gracefully`);
        void stop({ reason, restart: true, runsReason: `the host restarted (${reason})` }).catch((error: unknown) =>
          log.error({ event: "host.stop.failed", err: error }, String(error)),
        );
      },
      onRunStopped: (run, reason) => log.warn({ event: "memory.run_stopped", scheduleId: run.label }, `${run.label}: ${reason}`),
      onZombies: (count) =>
        log.warn(
          { event: "runs.zombies", count },
          `${count} process(es) started by runs ended after their run's thread (a run stopped by its heap limit) and cannot be reaped until the host restarts (taskhost restart); each holds a PID`,
        ),
      onError: (error) => log.warn({ event: "memory.sample.failed", err: error }, `could not sample memory: ${String(error)}`),
    });
    const failed = [...catalog.entries.values()].filter((e) => e.error).length;
    const loaded = catalog.entries.size - failed;
    log.info(
      {
        event: "host.start",
        pid: publicPid,
        hostPid: process.pid,
        restarts: options.restarts ?? 0,
        projectRoot: config.projectRoot,
        config: config.configPath,
        timezone: config.scheduler.timezone,
        tasks: loaded,
        taskErrors: failed,
        startMs: Date.now() - startedAt,
      },
      `host started: ${loaded} task(s) loaded${failed ? `, ${failed} with errors` : ""} in ${Date.now() - startedAt} ms (pid ${publicPid})`,
    );
    return { pid: publicPid, config: () => config, stop, stopped };
  } catch (error) {
    log.error({ event: "host.start.failed", err: error }, error instanceof Error ? error.message : String(error));
    for (const step of undo.reverse()) await step().catch(() => {});
    // Already on the console: the command need not print it again.
    if (consoleOn && error instanceof Error) Object.assign(error, { reported: true });
    throw error;
  }
}

/**
 * The composition root: the one place that builds taskhost's runtime from a
 * configuration, for the host and for the commands that work with no host
 * (`run`, `reset-schedules`, `check-overdue`) alike. Everything it builds goes
 * on one DisposerStack, so a start that fails half-way and a stop close the
 * same things in the same (reverse) order.
 */
import type { ResolvedConfig } from "../config/config-options.ts";
import { DependencyInstaller } from "../deps/install-dependencies.ts";
import type { HostFiles } from "../host/host-files.ts";
import { TaskCatalog } from "../host/task-catalog.ts";
import { createLogs, type Logs } from "../logging/create-logs.ts";
import type { TaskPaths } from "../run/task-paths.ts";
import { WorkerLauncher } from "../run/worker-launcher.ts";
import { PACKAGE_DIR } from "../runtime-paths.ts";
import type { HostLog } from "../scheduler/scheduler-types.ts";
import { Scheduler } from "../scheduler/scheduler.ts";
import type { Ledger } from "../store/ledger.ts";
import { openLedger, type OpenLedgerOptions } from "../store/open-ledger.ts";
import { prepareToolchain } from "../run/prepare-toolchain.ts";
import type { Toolchain } from "../task-file/toolchain.ts";
import { DisposerStack } from "./disposer-stack.ts";

export interface RuntimeOptions {
  config: ResolvedConfig;
  files: HostFiles;
  /** Where everything built is registered for closing (the caller may have put its lock there first). */
  stack: DisposerStack;
  /** This runtime's id in the ledger (its claims carry it): `<hostname>:<pid users see>`. */
  owner: string;
  /** Also print log lines on stdout (a foreground host). */
  console?: boolean;
  /** The logging level, when not the configuration's (a command that should only leave warnings). */
  logLevel?: ResolvedConfig["logging"]["level"];
  /** How opening the ledger waits for a process still writing it. */
  ledger?: Omit<OpenLedgerOptions, "onWarning" | "onLockWait">;
  /** Load example tasks whatever the configuration says (`taskhost run example_x`). */
  includeExamples?: boolean;
  /** Said last, before the logs close (the host's `host.stop` line). */
  farewell?: () => void;
  /** Said first, as soon as the logs are open (the host's configuration warnings). */
  greeting?: (log: HostLog) => void;
  /** A part failed to build once the logs were up: say so there (the error is thrown after). */
  onFailure?: (log: HostLog, error: unknown) => void;
}

/**
 * The runtime's parts. `config`, `logs` and `installer` are replaced only by
 * a configuration reload (reload-config.ts), and only once the replacement
 * is built and applied.
 */
export interface Runtime {
  config: ResolvedConfig;
  readonly files: HostFiles;
  logs: Logs;
  /** Host events, through whichever logs are current. */
  readonly log: HostLog;
  readonly ledger: Ledger;
  readonly paths: TaskPaths;
  readonly toolchain: Toolchain;
  readonly launcher: WorkerLauncher;
  readonly scheduler: Scheduler;
  installer: DependencyInstaller;
  readonly catalog: TaskCatalog;
  /**
   * What lets others reach the runtime (the control socket, the dashboard):
   * closed after the runs have had their grace, so commands keep answering
   * (`status` shows the runs ending), and before the ledger.
   */
  readonly faces: DisposerStack;
  /** What runs still in flight get when the runtime closes; a stop sets it before closing. */
  readonly shutdown: { graceMs: number; reason?: string };
  readonly stack: DisposerStack;
}

/** A stopping host gets shutdown_grace for its runs, and then this long to close the ledger. */
const LEDGER_LOCK_MARGIN_SEC = 30;

/** How long a host waits for a previous host that is still finishing its runs and writing the ledger. */
export function hostLedgerWaitMs(config: ResolvedConfig): number {
  return (config.scheduler.shutdownGraceSec + LEDGER_LOCK_MARGIN_SEC) * 1000;
}

export function installerFor(config: ResolvedConfig, files: HostFiles): DependencyInstaller {
  return new DependencyInstaller({ registry: config.dependencies.registry, installTimeoutSec: config.dependencies.installTimeoutSec, dataDir: files.dataDir });
}

export function logsFor(config: ResolvedConfig, options: Pick<RuntimeOptions, "console" | "logLevel">): Promise<Logs> {
  return createLogs(options.logLevel ? { ...config.logging, level: options.logLevel } : config.logging, { console: options.console ?? false });
}

/**
 * Builds, in this order: the logs, the ledger, the toolchain (compiled worker
 * entry, bundle inspector), the run launcher, the scheduler (not started),
 * the dependency installer and the task catalog (empty: the caller loads what
 * it needs). A failure throws; the caller disposes the stack.
 */
export async function composeRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { config, files, stack } = options;
  // Filled in as its parts are built. Components log through `log`, which reads the current
  // logs: a reload can swap the log files under them.
  const runtime = { config, files, logs: await logsFor(config, options) } as Runtime;
  stack.defer("logs", () => runtime.logs.close());
  const log: HostLog = {
    debug: (obj, msg) => runtime.logs.host.debug(obj, msg),
    info: (obj, msg) => runtime.logs.host.info(obj, msg),
    warn: (obj, msg) => runtime.logs.host.warn(obj, msg),
    error: (obj, msg) => runtime.logs.host.error(obj, msg),
  };
  if (options.farewell) stack.defer("farewell", options.farewell);
  options.greeting?.(log);
  try {
    return await composeParts(runtime, log, options);
  } catch (error) {
    options.onFailure?.(log, error);
    throw error;
  }
}

async function composeParts(runtime: Runtime, log: HostLog, options: RuntimeOptions): Promise<Runtime> {
  const { config, files, stack } = options;

  const ledger = stack.use(
    "ledger",
    await openLedger(config.database, {
      ...options.ledger,
      onWarning: (message) => log.warn({ event: "store.warning" }, message),
      onLockWait: (holder) =>
        log.warn(
          { event: "ledger.lock_wait", holderPid: holder?.pid ?? null },
          `waiting for ${holder ? `process ${holder.pid}` : "another process"} to finish writing the ledger (a previous host still stopping)`,
        ),
    }),
  );
  const faces = new DisposerStack((name, error) => log.error({ event: "close.failed", component: name, err: error }, `closing ${name} failed: ${String(error)}`));
  stack.use("faces", { close: () => faces.dispose() });

  // Task code asks helpers where the project is: each worker is told in its workerData.
  const paths: TaskPaths = {
    projectRoot: config.projectRoot,
    packageDir: process.env.TASKHOST_PACKAGE_DIR ?? PACKAGE_DIR,
    dataDir: files.dataDir,
  };
  const toolchain = await prepareToolchain(files.cacheDir, paths);
  // Its workers end with the runtime, whatever else failed.
  stack.defer("bundle inspector", () => toolchain.inspector.dispose());
  // Runs get a worker thread each (isolation `worker`), started ahead of their boundary.
  const launcher = stack.use("run launcher", new WorkerLauncher({ entryFile: toolchain.entryFile, paths }));
  const shutdown: Runtime["shutdown"] = { graceMs: 0 };
  const scheduler = new Scheduler({
    ledger,
    launcher,
    log,
    taskLog: (title, level, message) => runtime.logs.task(title, level, message),
    maxConcurrentRuns: config.scheduler.maxConcurrentRuns,
    historyPerTask: config.database.historyPerTask,
    owner: options.owner,
  });
  // Runs in flight get their grace, claims not started are handed back.
  stack.defer("scheduler", () => scheduler.stop(shutdown.graceMs, shutdown.reason));

  const installer = installerFor(config, files);
  const catalog = new TaskCatalog({
    dependencies: installer,
    projectRoot: config.projectRoot,
    tasksDir: config.tasks.directory,
    includeExamples: options.includeExamples ?? config.tasks.includeExampleTasks,
    toolchain,
    defaultZone: config.scheduler.timezone,
    ledger,
    scheduler,
    log,
  });
  // Loads stop before the runs are given their grace: npm (in its own process group) must
  // not outlive the runtime, and an inspection cut off says nothing about its task.
  stack.defer("task loading", async () => {
    await runtime.installer.close();
    await toolchain.inspector.dispose();
  });
  return Object.assign(runtime, { log, ledger, paths, toolchain, launcher, scheduler, installer, catalog, faces, shutdown, stack });
}

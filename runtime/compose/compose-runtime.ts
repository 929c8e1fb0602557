/**
 * The composition root: the one place that builds taskhost's runtime from a
 * configuration, for the host and for the commands that work with no host
 * (`run`, `reset-schedules`, `check-overdue`) alike. Everything it builds goes
 * on one DisposerStack, so a start that fails half-way and a stop close the
 * same things in the same (reverse) order. The data path it wires: the
 * catalog loads task files into the scheduler; the scheduler claims through
 * the ledger (shared with a fleet's other hosts, fleet-host.ts) and runs
 * through the isolating launcher (worker, context or task), whose output the
 * run logs also keep (attach-run-logs.ts).
 */
import type { ResolvedConfig } from "../config/config-options.ts";
import { DependencyInstaller } from "../deps/install-dependencies.ts";
import type { HostFiles } from "../host/host-files.ts";
import { fleetHost, type FleetHost } from "../host/fleet-host.ts";
import { TaskCatalog } from "../host/task-catalog.ts";
import { createLogs, type Logs } from "../logging/create-logs.ts";
import type { TaskPaths } from "../run/task-paths.ts";
import { createHostLauncher } from "../run/isolates/host-launcher.ts";
import { attachRunLogs } from "../run-logs/attach-run-logs.ts";
import type { RunLauncher } from "../scheduler/run-launcher.ts";
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
  /** The PID users see (a supervised host's is its supervisor's): the ledger id of a host alone on its ledger is `<hostname>:<pid>`. */
  pid: number;
  /** Also print log lines on stdout (a foreground host). */
  console?: boolean;
  /** The logging level, when not the configuration's (a command that should only leave warnings). */
  logLevel?: ResolvedConfig["logging"]["level"];
  /** How opening the ledger waits for a process still writing it. */
  ledger?: Omit<OpenLedgerOptions, "onWarning" | "onLockWait">;
  /** Told each ledger warning too, after it is logged (a host waiting for its database says so in `status`). */
  onStoreWarning?: (message: string, code?: string) => void;
  /** Load example tasks whatever the configuration says (`taskhost run example_x`). */
  includeExamples?: boolean;
  /** Try failed dependency installs again on a timer (a host; a one-off command ends first). Default true. */
  retryInstalls?: boolean;
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
  /** The ledger as the catalog, status and alerts read it (the scheduler's also prunes run log files). */
  readonly ledger: Ledger;
  /** The runtime's part in its ledger's fleet: its owner id; join() before the scheduler starts, close() after it stopped. */
  readonly fleet: FleetHost;
  readonly paths: TaskPaths;
  readonly toolchain: Toolchain;
  /** The isolating launcher (every isolation level) with run log files attached. */
  readonly launcher: RunLauncher;
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
 * entry, bundle inspector), the fleet part, the isolating run launcher with
 * its run logs, the scheduler (not started, its fleet not joined),
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
      // The code (ERR_DB_UNREACHABLE while a fleet's database is away) lets a reader of the log
      // match on it, and the caller (the host's status while it waits) learn of it.
      onWarning: (message, code) => {
        log.warn({ event: "store.warning", ...(code ? { code } : {}) }, message);
        options.onStoreWarning?.(message, code);
      },
      onLockWait: (holder) =>
        log.warn(
          { event: "ledger.lock_wait", holderPid: holder?.pid ?? null },
          `waiting for ${holder ? `process ${holder.pid}` : "another process"} to finish writing the ledger (a previous host still stopping)`,
        ),
    }),
  );
  const faces = new DisposerStack((name, error) => log.error({ event: "close.failed", component: name, err: error }, `closing ${name} failed: ${String(error)}`));
  stack.use("faces", { close: () => faces.dispose() });
  // The runtime's part in a fleet when other hosts share the ledger (PostgreSQL), a single
  // host's otherwise. It leaves the fleet once the runs ended, before the faces close.
  const fleet = stack.use("fleet", fleetHost(ledger, { projectRoot: config.projectRoot, configPath: config.configPath, pid: options.pid, log }));

  // Task code asks helpers where the project is: each worker is told in its workerData.
  const paths: TaskPaths = {
    projectRoot: config.projectRoot,
    packageDir: process.env.TASKHOST_PACKAGE_DIR ?? PACKAGE_DIR,
    dataDir: files.dataDir,
    configFile: config.configPath,
  };
  const toolchain = await prepareToolchain(files.cacheDir, paths);
  // Its workers end with the runtime, whatever else failed.
  stack.defer("bundle inspector", () => toolchain.inspector.dispose());
  // Runs go where each task's isolation says (issue 13), a warm pooled context by default;
  // each run's whole output also goes to logs/runs/<task>/<run>.log, removed with its run.
  const hostLauncher = await createHostLauncher({
    cacheDir: files.cacheDir,
    paths,
    workerEntryFile: toolchain.entryFile,
    config: () => runtime.config,
    log: (message) => log.warn({ event: "run.note" }, message),
  });
  const logged = attachRunLogs({ launcher: hostLauncher, ledger }, () => runtime.config.logging.directory, (error) =>
    log.warn({ event: "run_log.failed", err: error }, `run log files: ${String(error)}`),
  );
  const launcher = stack.use("run launcher", logged.launcher);
  const shutdown: Runtime["shutdown"] = { graceMs: 0 };
  const scheduler = new Scheduler({
    ledger: logged.ledger,
    launcher,
    isolationOf: hostLauncher.isolationOf,
    log,
    taskLog: (title, level, message) => runtime.logs.task(title, level, message),
    maxConcurrentRuns: config.scheduler.maxConcurrentRuns,
    historyPerTask: config.database.historyPerTask,
    owner: fleet.owner,
    shared: fleet.shared,
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
    retryInstalls: options.retryInstalls ?? true,
  });
  // Loads stop before the runs are given their grace: npm (in its own process group) must
  // not outlive the runtime, and an inspection cut off says nothing about its task.
  stack.defer("task loading", async () => {
    catalog.close();
    await runtime.installer.close();
    await toolchain.inspector.dispose();
  });
  return Object.assign(runtime, { log, ledger, fleet, paths, toolchain, launcher, scheduler, installer, catalog, faces, shutdown, stack });
}

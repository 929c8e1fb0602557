import path from "node:path";
import { loadConfigFile } from "../config/load-config-file.ts";
import type { ResolvedConfig } from "../config/config-options.ts";
import { createLogs, type Logs } from "../logging/create-logs.ts";
import { openSqlJsStore } from "../store/sqljs-store.ts";
import type { Store } from "../store/store.ts";
import { Scheduler } from "../scheduler/scheduler.ts";
import { workerEntryFile } from "../run/worker-entry-file.ts";
import { acquireHostLock, type HostLock } from "./host-lock.ts";
import { hostFiles } from "./host-files.ts";
import { TaskCatalog } from "./task-catalog.ts";
import { startControlServer, type ControlServer } from "./control-server.ts";
import { hostStatus } from "./build-status.ts";
import { controlHandlers } from "./control-handlers.ts";

export interface HostOptions {
  projectRoot: string;
  /** Absolute or relative to the project root. */
  configPath: string;
  /** Also print log lines on stdout (foreground). */
  console?: boolean;
}

export interface Host {
  readonly config: ResolvedConfig;
  readonly pid: number;
  /** Graceful stop; safe to call twice (the second call waits for the first). */
  stop(reason?: string): Promise<void>;
  /** Resolves once the host has stopped (after stop(), or a `stop` request over the socket). */
  readonly stopped: Promise<void>;
}

/**
 * Starts a host in this process: config, logs, the one-host lock, the ledger,
 * every task file, the control socket and the scheduler, in that order. Each
 * step that fails undoes the ones before it and throws an error naming the file.
 */
export async function startHost(options: HostOptions): Promise<Host> {
  const startedAt = Date.now();
  const { config, warnings } = loadConfigFile(options.configPath, options.projectRoot);
  const files = hostFiles(path.dirname(config.database.path));
  // The lock comes before the logs: a second host must not write into the first one's files.
  const lock: HostLock = await acquireHostLock(files.pidFile);
  let logs: Logs;
  try {
    logs = await createLogs(
      {
        level: config.logging.level,
        directory: config.logging.directory,
        maxSizeBytes: config.logging.maxSizeBytes,
        rotation: config.logging.rotation,
        retention: config.logging.retention,
      },
      { console: options.console ?? false },
    );
  } catch (error) {
    await lock.release();
    throw error;
  }
  const log = logs.host;
  for (const warning of warnings) log.warn({ event: "config.warning", key: warning.key }, warning.message);

  const undo: Array<() => Promise<void>> = [() => logs.close(), () => lock.release()];
  const unwind = async () => {
    for (const step of undo.reverse()) await step().catch(() => {});
  };
  try {
    const store: Store = await openSqlJsStore({
      path: config.database.path,
      onWarning: (message) => log.warn({ event: "store.warning" }, message),
    });
    undo.push(() => store.close());
    // Task code asks helpers where the project is; workers inherit the environment.
    process.env.TASKHOST_PROJECT_ROOT = config.projectRoot;
    const entryFile = await workerEntryFile(files.cacheDir);
    const scheduler = new Scheduler({
      store,
      log,
      taskLog: (title, level, message) => logs.task(title, level, message),
      entryFile,
      maxConcurrentRuns: config.scheduler.maxConcurrentRuns,
      historyPerTask: config.database.historyPerTask,
    });
    const interrupted = await scheduler.recoverUnfinished();
    if (interrupted > 0) {
      log.warn({ event: "runs.interrupted", count: interrupted }, `${interrupted} run(s) were cut off when the previous host stopped; recorded as interrupted`);
    }
    const catalog = new TaskCatalog({
      projectRoot: config.projectRoot,
      tasksDir: config.tasks.directory,
      includeExamples: config.tasks.includeExampleTasks,
      bundleDir: files.bundleDir,
      entryFile,
      defaultZone: config.scheduler.timezone,
      store,
      scheduler,
      log,
    });
    await catalog.scan();

    let stopping: Promise<void> | null = null;
    let resolveStopped: () => void = () => {};
    const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
    let control: ControlServer | null = null;
    const stop = (reason = "stop requested") => {
      stopping ??= (async () => {
        log.info({ event: "host.stopping", reason, running: scheduler.runningCount }, `stopping (${reason}); ${scheduler.runningCount} run(s) in flight get ${config.scheduler.shutdownGraceSec}s`);
        await control?.close();
        await scheduler.stop(config.scheduler.shutdownGraceSec * 1000);
        await store.close();
        log.info({ event: "host.stop", reason, uptimeSec: Math.round((Date.now() - startedAt) / 1000) }, "host stopped");
        await lock.release();
        await logs.close();
        resolveStopped();
      })();
      return stopping;
    };
    const host = { pid: process.pid, startedAt };
    control = await startControlServer(
      files.socket,
      controlHandlers({
        catalog,
        scheduler,
        store,
        status: () =>
          hostStatus(catalog, scheduler, store, {
            running: true,
            pid: host.pid,
            uptimeSec: Math.round((Date.now() - host.startedAt) / 1000),
            rssMb: Math.round((process.memoryUsage.rss() / 1024 / 1024) * 10) / 10,
            restarts: 0,
          }),
        stop: (reason) => {
          // Answer first, then stop: the caller waits for the host to go away.
          setImmediate(() => void stop(reason).catch((error: unknown) => log.error({ event: "host.stop.failed", err: error }, String(error))));
        },
      }),
      (error) => log.error({ event: "control.error", err: error }, `control socket: ${String(error)}`),
    );
    undo.push(() => control!.close());
    scheduler.start();
    const counts = [...catalog.entries.values()].reduce(
      (acc, e) => ({ ok: acc.ok + (e.error ? 0 : 1), failed: acc.failed + (e.error ? 1 : 0) }),
      { ok: 0, failed: 0 },
    );
    log.info(
      {
        event: "host.start",
        pid: process.pid,
        projectRoot: config.projectRoot,
        config: config.configPath,
        timezone: config.scheduler.timezone,
        tasks: counts.ok,
        taskErrors: counts.failed,
        startMs: Date.now() - startedAt,
      },
      `host started: ${counts.ok} task(s) loaded${counts.failed ? `, ${counts.failed} with errors` : ""} in ${Date.now() - startedAt} ms (pid ${process.pid})`,
    );
    return { config, pid: process.pid, stop, stopped };
  } catch (error) {
    log.error({ event: "host.start.failed", err: error }, error instanceof Error ? error.message : String(error));
    await unwind();
    // Already on the console: the command need not print it again.
    if (options.console && error instanceof Error) Object.assign(error, { reported: true });
    throw error;
  }
}

export type { Logs };

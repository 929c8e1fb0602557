import { lastCrashJson, type LastCrash } from "../supervisor/last-crash.ts";
import os from "node:os";
import path from "node:path";
import { startAlerting } from "../alerts/start-alerting.ts";
import { BackfillJobFiles } from "../backfill/backfill-job-files.ts";
import { Backfills } from "../backfill/backfills.ts";
import { hostBackfillTarget } from "../backfill/host-backfill-target.ts";
import { loadConfigOrLastGood } from "../config/last-good-config.ts";
import type { ResolvedConfig } from "../config/config-options.ts";
import { messageOf } from "../errors.ts";
import { hostFiles } from "../host/host-files.ts";
import { acquireLocks, supervisedLock } from "../host/host-lock.ts";
import { runJson } from "../host/report-shapes.ts";
import { StartingControl, standingStopRequest, type StopRequest } from "../host/starting-control.ts";
import { startCacheSweeps } from "../host/sweep-build-cache.ts";
import { redactUrl } from "../store/pg-options.ts";
import { composeRuntime, hostLedgerWaitMs, type Runtime } from "./compose-runtime.ts";
import { DisposerStack } from "./disposer-stack.ts";
import { reportStartConfig, watchHostConfig } from "./host-config.ts";
import { openHostFaces } from "./host-faces.ts";
import type { HttpFace } from "./http-face.ts";
import { watchHostMemory } from "./host-memory.ts";
import { TaskWatching } from "./task-watching.ts";

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
  /** The supervisor's last restart after a crash, if any (runtime/supervisor/supervise.sh). */
  lastCrash?: LastCrash | null;
  /**
   * Given, once the host can take one, what asks for a stop (or restart) before it is up; the
   * process's signals use it as the control socket does: no run starts, and it stops once up.
   */
  onStopWhileStarting?: (requestStop: (request: StopRequest) => void) => void;
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

/**
 * Starts a host in this process: the one-host lock, the runtime
 * (compose-runtime.ts), every task file, alerting, the watchers, the control
 * socket and the dashboard (host-faces.ts), then the scheduler. Everything goes on one
 * DisposerStack: a step that fails closes the ones before it (and the error
 * names the file); stop() closes the same stack.
 */
export async function startHost(options: HostOptions): Promise<Host> {
  const startedAt = Date.now();
  const consoleOn = options.console ?? false;
  const restarts = options.restarts ?? 0;
  const lastCrash = lastCrashJson(options.lastCrash ?? null);
  // A bad config.yaml does not keep a host down that ran before: the last good copy is used.
  const initial = loadConfigOrLastGood(options.configPath, options.projectRoot);
  const files = hostFiles(path.dirname(initial.config.database.path));
  // The lock comes before the logs: a second host must not write into the first one's files.
  const lock = options.supervisorPid
    ? await supervisedLock(files.pidFile, options.supervisorPid)
    : await acquireLocks({ projectRoot: options.projectRoot, pidFile: files.pidFile, sharedLedger: initial.config.database.url != null });
  const pid = options.supervisorPid ?? process.pid;
  let runtime: Runtime | null = null;
  const stack = new DisposerStack((name, error) =>
    runtime?.log.error({ event: "host.close.failed", component: name, err: error }, `closing ${name} failed: ${messageOf(error)}`),
  );
  stack.defer("host lock", () => lock.release());
  let stopped: { reason: string; restart: boolean } | null = null;
  let failureLogged = false;
  // The host's log from the moment it opens (before `runtime` is set, while the ledger is waited for).
  let startLog: Runtime["log"] | null = null;
  // A stop (or restart) asked for before the host is up, over the socket of starting-control.ts.
  let stopWhileStarting: StopRequest | null = null;
  const abortWait = new AbortController();
  function requestStopWhileStarting(request: StopRequest): void {
    stopWhileStarting = standingStopRequest(stopWhileStarting, request);
    stopped = { reason: stopWhileStarting.reason, restart: stopWhileStarting.restart };
    // Ends the wait for the database at once; a host past it stops as soon as it is up.
    abortWait.abort();
  }
  const starting = new StartingControl({
    socketPath: files.socket,
    pid,
    startedAt,
    restarts,
    lastCrash,
    where: initial.config.database.url ? redactUrl(initial.config.database.url) : "",
    configError: initial.problem,
    configWarnings: initial.warnings.map((w) => w.message),
    onStop: requestStopWhileStarting,
    onError: (error) => startLog?.error({ event: "control.error", err: error }, `control socket: ${String(error)}`),
  });
  options.onStopWhileStarting?.(requestStopWhileStarting);
  // Also closed with the faces once the host is up (closing twice is harmless).
  stack.defer("control socket", async () => (await starting.server())?.close());
  const failed = (log: Runtime["log"], error: unknown) => {
    failureLogged = true;
    // Stopped while waiting for the database: the stop's own lines say so, not a failure.
    if (!stopWhileStarting) log.error({ event: "host.start.failed", err: error }, messageOf(error));
  };
  try {
    const rt = (runtime = await composeRuntime({
      config: initial.config,
      files,
      stack,
      pid,
      console: consoleOn,
      // A host that lost its supervisor may still be finishing its runs and writing the ledger;
      // a fleet's database may be starting too (a reboot): wait for it rather than fail the host.
      ledger: { lockWaitMs: hostLedgerWaitMs(initial.config), waitForDatabase: true, signal: abortWait.signal },
      onStoreWarning: (message, code) => starting.storeWarning(message, code),
      greeting: (log) => {
        startLog = log;
        reportStartConfig(initial, log);
      },
      onFailure: failed,
      farewell: () =>
        stopped &&
        startLog?.info({ event: "host.stop", ...stopped, uptimeSec: Math.round((Date.now() - startedAt) / 1000) }, "host stopped"),
    }));
    starting.databaseConnected();
    const { catalog, scheduler, ledger, log, fleet } = rt;
    // Joins the fleet (or, alone on its ledger, records the runs a previous life left as interrupted).
    const interrupted = await fleet.join(scheduler);
    if (interrupted > 0) {
      log.warn({ event: "runs.interrupted", count: interrupted }, `${interrupted} run(s) were cut off when the previous host stopped; recorded as interrupted`);
    }
    await catalog.scan();
    fleet.watchCatalog(catalog);
    const sweeps = startCacheSweeps(
      () => ({ bundleDir: rt.toolchain.bundleDir, manifestDir: rt.toolchain.manifestDir, depsDir: rt.installer.options.depsDir }),
      {
        taskFiles: () => [...catalog.entries.values()].map((entry) => entry.file),
        loadedBundles: () => [...catalog.entries.values()].flatMap((entry) => (entry.loaded ? [entry.loaded.bundle.path] : [])),
      },
      log,
    );
    stack.defer("build cache sweeps", () => sweeps.close());
    // Closed before the scheduler stops: no backfill run starts once stopping; one in flight
    // ends with the scheduler, and the next host resumes the backfill.
    const backfills = stack.use(
      "backfills",
      new Backfills({
        target: hostBackfillTarget({ catalog, ledger, scheduler }),
        files: new BackfillJobFiles(path.join(files.dataDir, "backfills")),
        log,
      }),
    );
    // Opened with the other faces, after the config watcher that reconfigures it.
    let http: HttpFace | null = null;
    const alerting = stack.use(
      "alerting",
      startAlerting({
        scheduler,
        catalog,
        store: ledger,
        metrics: { restarts, startedAt, ledgerUp: () => fleet.outage() === null },
        ledgerReachable: () => fleet.outage() === null,
        config: () => rt.config,
        host: { id: fleet.owner, hostname: os.hostname() },
        dashboardUrl: () => (rt.config.dashboard.enabled ? (http?.dashboard?.url ?? null) : null),
        runJson: (run) => ({ ...runJson(run) }),
        recentRuns: (taskId) => ledger.listRuns(taskId, { limit: 50 }),
        // database.url needs a restart to change.
        sharedLedger: rt.config.database.url != null,
        log,
      }),
    );
    const taskWatching = stack.use("task watcher", new TaskWatching(rt));
    if (rt.config.tasks.reloadOnChange) taskWatching.swap(await taskWatching.start(rt.config.tasks.directory));
    const hostConfig = stack.use("config watcher", await watchHostConfig(initial, {
        runtime: rt,
        taskWatching,
        alerting,
        http: { reconfigure: (prev, next) => http?.reconfigure(prev, next) ?? Promise.resolve() },
        console: consoleOn,
      }));

    let stopping: Promise<void> | null = null;
    let resolveStopped: (result: { restart: boolean }) => void = () => {};
    const whenStopped = new Promise<{ restart: boolean }>((resolve) => (resolveStopped = resolve));
    // A stop asked for while a restart is under way (SIGHUP, then SIGTERM as a terminal
    // closes) turns it into a plain stop; the runs keep the grace they were given.
    let restartWanted = true;
    const stop = ({ reason = "stop requested", graceSec, restart = false, runsReason }: StopOptions = {}) => {
      if (!restart) {
        restartWanted = false;
        // The farewell line (host.stop) says what the host did: it stops.
        if (stopped?.restart) stopped = { reason: `${stopped.reason}, then ${reason}`, restart: false };
      }
      stopping ??= (async () => {
        const grace = graceSec ?? rt.config.scheduler.shutdownGraceSec;
        log.info(
          { event: "host.stopping", reason, restart, running: scheduler.runningCount },
          `${restart ? "restarting" : "stopping"} (${reason}); ${scheduler.runningCount} run(s) in flight get ${grace}s`,
        );
        Object.assign(rt.shutdown, { graceMs: grace * 1000, reason: runsReason });
        stopped = { reason, restart };
        await stack.dispose();
        resolveStopped({ restart: restart && restartWanted });
      })();
      return stopping;
    };
    const faces = await openHostFaces(rt, {
      pid,
      startedAt,
      restarts,
      lastCrash,
      alerting,
      backfills,
      hostConfig,
      control: await starting.server(),
      // Answer first, then stop: the caller waits for the host to go away.
      stop: (stopOptions) => setImmediate(() => void stop(stopOptions).catch((error: unknown) => log.error({ event: "host.stop.failed", err: error }, String(error)))),
    });
    http = faces.http;
    // Asked to stop after the database answered but before the host was up: no run starts (it stops below).
    const early: StopRequest | null = stopWhileStarting;
    if (!early) {
      scheduler.start();
      void backfills.resume().catch((error: unknown) => log.error({ event: "backfill.resume_failed", err: error }, `resuming backfills: ${messageOf(error)}`));
    }
    stack.defer(
      "memory watch",
      watchHostMemory(rt, (reason) =>
        void stop({ reason, restart: true, runsReason: `the host restarted (${reason})` }).catch((error: unknown) =>
          log.error({ event: "host.stop.failed", err: error }, String(error)),
        ),
      ),
    );
    logStarted(rt, { pid, restarts, startMs: Date.now() - startedAt });
    if (early) void stop(early).catch((error: unknown) => log.error({ event: "host.stop.failed", err: error }, String(error)));
    return { pid, config: () => rt.config, stop, stopped: whenStopped };
  } catch (error) {
    if (runtime && !failureLogged) failed(runtime.log, error);
    await stack.dispose();
    if (stopWhileStarting) {
      // Stopped while it waited for its database (the wait ended in an error): a stop as asked.
      const restart = (stopWhileStarting as StopRequest).restart;
      return { pid, config: () => initial.config, stop: async () => {}, stopped: Promise.resolve({ restart }) };
    }
    // Already on the console: the command need not print it again.
    if (consoleOn && failureLogged && error instanceof Error) Object.assign(error, { reported: true });
    throw error;
  }
}

function logStarted(runtime: Runtime, figures: { pid: number; restarts: number; startMs: number }): void {
  const { catalog, config } = runtime;
  const failed = [...catalog.entries.values()].filter((e) => e.error).length;
  const loaded = catalog.entries.size - failed;
  runtime.log.info(
    {
      event: "host.start",
      pid: figures.pid,
      hostPid: process.pid,
      restarts: figures.restarts,
      projectRoot: config.projectRoot,
      config: config.configPath,
      timezone: config.scheduler.timezone,
      tasks: loaded,
      taskErrors: failed,
      startMs: figures.startMs,
    },
    `host started: ${loaded} task(s) loaded${failed ? `, ${failed} with errors` : ""} in ${figures.startMs} ms (pid ${figures.pid})`,
  );
}

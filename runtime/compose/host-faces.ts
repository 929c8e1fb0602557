import type { LastCrashJson } from "../host/report-shapes.ts";
import type { Alerting } from "../alerts/start-alerting.ts";
import { backfillHandlers } from "../backfill/backfill-control.ts";
import type { Backfills } from "../backfill/backfills.ts";
import { startDashboard } from "../dashboard/start-dashboard.ts";
import { hostStatus } from "../host/build-status.ts";
import { iso } from "../host/report-shapes.ts";
import { redactUrl } from "../store/pg-options.ts";
import { messageOf } from "../errors.ts";
import { withChannelWarnings } from "../host/channel-warnings.ts";
import { controlHandlers } from "../host/control-handlers.ts";
import { hostOperations } from "../host/host-operations.ts";
import { startControlServer, type ControlServer } from "../host/control-server.ts";
import type { Runtime } from "./compose-runtime.ts";
import type { HostConfig } from "./host-config.ts";
import { HttpFace } from "./http-face.ts";

export interface HostFacesOptions {
  /** The PID users see (the supervisor's). */
  pid: number;
  startedAt: number;
  restarts: number;
  lastCrash: LastCrashJson | null;
  alerting: Alerting;
  backfills: Backfills;
  hostConfig: HostConfig;
  /** The socket opened while the host waited for its database (starting-control.ts), to serve on; else one is opened. */
  control?: ControlServer | null;
  /** Stops the host once the request that asked for it is answered. */
  stop(options: { reason: string; graceSec?: number; restart?: boolean }): void;
}

/**
 * What lets others reach a running host: its control socket (every command)
 * and, with dashboard.enabled or metrics.enabled, its HTTP server. Both offer
 * the same status and operations, and both go on `runtime.faces`, which
 * closes after the runs have had their grace: commands keep working (`status`
 * shows the runs ending); a run asked for meanwhile is refused by the stopping
 * scheduler with a clear message.
 */
export async function openHostFaces(runtime: Runtime, options: HostFacesOptions): Promise<{ http: HttpFace }> {
  const { catalog, scheduler, ledger, log, files, fleet } = runtime;
  const { alerting, backfills } = options;
  const databaseAway = (error: string, since: number, tries: number) => {
    const url = runtime.config.database.url;
    return { state: "unreachable" as const, url: url ? redactUrl(url) : "", code: "ERR_DB_UNREACHABLE", error, since: iso(since)!, tries };
  };
  const status = async () => ({
    // Per task, a warning when a fleet's live hosts disagree on its version, or it lists an alert channel there is not.
    ...withChannelWarnings(await fleet.withVersionWarnings(await hostStatus(
      catalog,
      scheduler,
      ledger,
      {
        running: true,
        pid: options.pid,
        uptimeSec: Math.round((Date.now() - options.startedAt) / 1000),
        rssMb: Math.round((process.memoryUsage.rss() / 1024 / 1024) * 10) / 10,
        restarts: options.restarts,
        lastCrash: options.lastCrash,
        configError: options.hostConfig.problem(),
        configWarnings: options.hostConfig.warnings(),
      },
      runtime.config.scheduler.isolation,
      {
        away: () => {
          const outage = fleet.outage();
          return outage && databaseAway(outage.error, outage.since, outage.failures);
        },
        failed: (error) => {
          const outage = fleet.outage();
          return databaseAway(messageOf(error), outage?.since ?? Date.now(), outage?.failures ?? 1);
        },
      },
    )), { projectRoot: runtime.config.projectRoot, unknownChannels: alerting.unknownChannels(), channels: alerting.channels().map((c) => c.name) }),
    alerts: { channels: alerting.channels() },
  });
  const ops = hostOperations({ catalog, scheduler, ledger });
  const handlers = {
    ...controlHandlers({ pid: options.pid, catalog, scheduler, ledger, status, stop: options.stop }),
    ...backfillHandlers(backfills),
    alerts: async (params: Record<string, unknown>) => {
      const taskId = typeof params.task === "string" ? params.task : undefined;
      if (taskId !== undefined) await ops.knownTask(taskId);
      return alerting.listAlerts({ limit: typeof params.limit === "number" ? params.limit : 50, taskId });
    },
  };
  const onError = (error: unknown) => log.error({ event: "control.error", err: error }, `control socket: ${String(error)}`);
  const control = options.control ?? (await startControlServer(files.socket, handlers, onError));
  // Serving on the socket that answered while the host started leaves no moment without one.
  control.serve(handlers);
  runtime.faces.use("control socket", control);
  const http = new HttpFace((startOn) =>
    startDashboard({
      ...{ catalog, scheduler, ledger, status, log, alerting, backfills, startOn },
      config: () => runtime.config,
      dataDir: files.dataDir,
      metrics: () => alerting.metrics,
    }),
  );
  await http.start(runtime.config);
  return { http: runtime.faces.use("dashboard", http) };
}

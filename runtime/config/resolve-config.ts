import { DASHBOARD_TOKEN_ENV, DATABASE_URL_ENV, type ConfigResolution, type ResolvedConfig } from "./config-options.ts";
import { ConfigReader, type ResolveConfigContext } from "./config-reader.ts";
import { deepFreeze } from "../util/deep-freeze.ts";
import { DURATION_BOUND, MACHINE_MEMORY_BOUND, MAX_CONCURRENT_RUNS, MAX_HISTORY_PER_TASK, MIN_MEMORY_CHECK_INTERVAL_SEC } from "./value-bounds.ts";
import { resolveMetricsOptions } from "./alerts-options.ts";

/**
 * The one place a configuration becomes a `ResolvedConfig` — at start-up and on
 * every hot reload alike, so a reload can never accept what a start would refuse.
 *
 * Pure: no file access, no clock; the environment comes in through `context.env`.
 * A wrong value throws (the caller keeps the previous configuration); an unknown
 * key is only a warning, returned next to the config in `{ config, warnings }`,
 * because a typo in an optional key must not keep the host from starting.
 */

export { ERR_CONFIG_INVALID } from "../errors.ts";
export { ConfigError, displayConfigPath, type ResolveConfigContext } from "./config-reader.ts";

/** The shortest dashboard token accepted (the generated one is 43). */
export const MIN_DASHBOARD_TOKEN_CHARS = 16;

const MIB = 1024 * 1024;

export function resolveConfig(input: unknown, context: ResolveConfigContext): ConfigResolution {
  const r = new ConfigReader(context);
  const root = r.root(input);

  const scheduler = r.section(root, "scheduler");
  const database = r.section(root, "database");
  const logging = r.section(root, "logging");
  const tasks = r.section(root, "tasks");
  const dependencies = r.section(root, "dependencies");
  const notifications = r.section(root, "notifications");
  const dashboard = r.section(root, "dashboard");
  const alerts = r.section(root, "alerts");
  const metrics = r.section(root, "metrics");
  const authoring = r.section(root, "authoring");

  const tz = r.timezone(scheduler, "scheduler", "timezone");
  const dashboardHost = r.nonEmptyString(dashboard, "dashboard", "host");
  const dashboardEnabled = r.bool(dashboard, "dashboard", "enabled");
  const fileToken = r.optionalNonEmptyString(dashboard, "dashboard", "token");
  const envToken = (context.env ?? process.env)[DASHBOARD_TOKEN_ENV];
  const token = fileToken ?? (envToken && envToken.trim() !== "" ? envToken : null);
  // The token is the dashboard's only lock: one a person could guess is none.
  if (token !== null && token.length < MIN_DASHBOARD_TOKEN_CHARS) {
    throw r.error(
      ["dashboard", "token"],
      `${fileToken !== null ? "dashboard.token" : DASHBOARD_TOKEN_ENV} is ${token.length} character(s); use at least ${MIN_DASHBOARD_TOKEN_CHARS} ` +
        "(e.g. `openssl rand -base64 24`), or leave it unset on loopback and the host makes one",
    );
  }
  // A dashboard reachable from other machines without a token would hand the
  // host's control to anyone on the network: refuse rather than warn.
  if (dashboardEnabled && token === null && !isLoopbackHost(dashboardHost)) {
    const at = "token" in dashboard ? "token" : "host";
    throw r.error(
      ["dashboard", at],
      `dashboard.host is ${JSON.stringify(dashboardHost)} (not loopback), which requires dashboard.token; ` +
        `set dashboard.token or ${DASHBOARD_TOKEN_ENV}, or bind dashboard.host to 127.0.0.1`,
    );
  }

  const config: ResolvedConfig = {
    projectRoot: context.projectRoot,
    configPath: context.configPath,
    scheduler: {
      timezone: tz.zone,
      timezoneIsLocal: tz.isLocal,
      maxMemoryUsageBytes: Math.round(r.positiveNumber(scheduler, "scheduler", "max_memory_usage", "a number of MB > 0", MACHINE_MEMORY_BOUND) * MIB),
      memoryCheckIntervalSec: r.atLeast(
        r.positiveNumber(scheduler, "scheduler", "memory_check_interval", "a number of seconds > 0", DURATION_BOUND),
        MIN_MEMORY_CHECK_INTERVAL_SEC,
        "scheduler",
        "memory_check_interval",
        "seconds (sampling more often is a busy loop)",
      ),
      maxConcurrentRuns: r.positiveInt(scheduler, "scheduler", "max_concurrent_runs", {
        max: MAX_CONCURRENT_RUNS,
        unit: "runs",
        why: "each run is a thread of its own",
      }),
      shutdownGraceSec: r.nonNegativeNumber(scheduler, "scheduler", "shutdown_grace", "a number of seconds >= 0", DURATION_BOUND),
      isolation: r.oneOf(scheduler, "scheduler", "isolation", ["context", "task", "worker"] as const),
    },
    database: {
      path: r.path(database, "database", "path"),
      historyPerTask: r.positiveInt(database, "database", "history_per_task", {
        max: MAX_HISTORY_PER_TASK,
        unit: "runs",
        why: "the ledger is held in memory",
      }),
      url: r.databaseUrl(database, (context.env ?? process.env)[DATABASE_URL_ENV]),
      leaseSec: r.leaseSeconds(database),
    },
    logging: r.logging(logging),
    tasks: {
      directory: r.path(tasks, "tasks", "directory"),
      includeExampleTasks: r.bool(tasks, "tasks", "include_example_tasks"),
      reloadOnChange: r.bool(tasks, "tasks", "reload_on_change"),
    },
    dependencies: {
      registry: r.registry(dependencies, "dependencies", "registry"),
      installTimeoutSec: r.positiveNumber(dependencies, "dependencies", "install_timeout", "a number of seconds > 0", DURATION_BOUND),
    },
    notifications: {
      notifyOnFailure: r.bool(notifications, "notifications", "notify_on_failure"),
    },
    dashboard: {
      enabled: dashboardEnabled,
      host: dashboardHost,
      port: r.port(dashboard, "dashboard", "port"),
      token,
    },
    alerts: r.alerts(alerts, context.secrets),
    metrics: r.owned(["metrics"], () => resolveMetricsOptions(metrics)),
    authoring: {
      scriptDirs: r.pathList(authoring, "authoring", "script_dirs"),
    },
  };
  return deepFreeze({ config, warnings: r.warnings });
}

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}

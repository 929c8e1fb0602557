/**
 * The two shapes of the host configuration (contract §6):
 *
 * - `ConfigOptions` is what a user writes in `config/config.yaml`, exactly as the
 *   YAML parser hands it over: snake_case keys, every key optional, values not yet
 *   checked (the resolver still has to look at each one, hence the loose types).
 * - `ResolvedConfig` is what the rest of the host reads: camelCase, every key
 *   present, paths absolute, sizes in bytes, durations in seconds (the `Sec`
 *   suffix says so), the time zone an IANA name. Built only by `resolveConfig()`,
 *   deep-frozen, so a hot reload swaps one whole object and nobody can half-edit it.
 */

import type { ResolvedLoggingOptions } from "../logging/logging-options.ts";
import { ALERTS_DEFAULTS, METRICS_DEFAULTS, type ResolvedAlertsOptions, type ResolvedMetricsOptions } from "./alerts-options.ts";

export interface ConfigOptions {
  scheduler?: {
    /** "local" or an IANA name. */
    timezone?: string;
    /** MB. */
    max_memory_usage?: number;
    /** Seconds. */
    memory_check_interval?: number;
    max_concurrent_runs?: number;
    /** Seconds. */
    shutdown_grace?: number;
    /** "context", "task" or "worker": where runs execute unless a task says (issue 13). */
    isolation?: string;
  } | null;
  database?: {
    path?: string;
    history_per_task?: number;
    /** postgres://user:password@host:5432/db: several hosts share one ledger (contract §10). */
    url?: string | null;
    /** Seconds a host stays alive without a heartbeat (PostgreSQL only). */
    lease?: number;
  } | null;
  logging?: {
    level?: string;
    directory?: string;
    /** "10 MB", "512 KB", "1 GB", or a number of bytes (see runtime/logging/logging-options.ts). */
    max_size?: string | number;
    rotation?: string;
    retention?: number;
  } | null;
  tasks?: {
    directory?: string;
    include_example_tasks?: boolean;
    reload_on_change?: boolean;
  } | null;
  dependencies?: {
    registry?: string | null;
    /** Seconds. */
    install_timeout?: number;
  } | null;
  notifications?: {
    notify_on_failure?: boolean;
  } | null;
  dashboard?: {
    enabled?: boolean;
    host?: string;
    port?: number;
    token?: string | null;
  } | null;
  /** Checked by alerts-options.ts. */
  alerts?: Record<string, unknown> | null;
  metrics?: {
    enabled?: boolean;
    token?: string | null;
  } | null;
  authoring?: {
    /** Folders the dashboard and `taskhost new` may pick a task's script from. */
    script_dirs?: readonly string[];
  } | null;
}

export interface ResolvedConfig {
  /** Absolute; relative paths of the file are resolved against it. */
  readonly projectRoot: string;
  /** Absolute path of the file this came from (it may not exist: then all defaults). */
  readonly configPath: string;
  readonly scheduler: {
    /** IANA name; "local" already replaced by the machine's zone. */
    readonly timezone: string;
    /** True when the file said "local" (or nothing): status output can say so. */
    readonly timezoneIsLocal: boolean;
    readonly maxMemoryUsageBytes: number;
    readonly memoryCheckIntervalSec: number;
    readonly maxConcurrentRuns: number;
    readonly shutdownGraceSec: number;
    readonly isolation: "context" | "task" | "worker";
  };
  readonly database: {
    /** Absolute. */
    readonly path: string;
    readonly historyPerTask: number;
    /** From the file, else TASKHOST_DATABASE_URL, else null (the sql.js file at `path`). Never logged: see redactUrl. */
    readonly url: string | null;
    readonly leaseSec: number;
  };
  /** Validated by the log writers' own resolver; directory absolute, size in bytes. */
  readonly logging: ResolvedLoggingOptions;
  readonly tasks: {
    /** Absolute. */
    readonly directory: string;
    readonly includeExampleTasks: boolean;
    readonly reloadOnChange: boolean;
  };
  readonly dependencies: {
    /** null = npm's own configuration. */
    readonly registry: string | null;
    readonly installTimeoutSec: number;
  };
  readonly notifications: {
    readonly notifyOnFailure: boolean;
  };
  readonly dashboard: {
    readonly enabled: boolean;
    readonly host: string;
    readonly port: number;
    /** From the file, else from TASKHOST_DASHBOARD_TOKEN, else null. */
    readonly token: string | null;
  };
  readonly alerts: ResolvedAlertsOptions;
  readonly metrics: ResolvedMetricsOptions;
  readonly authoring: {
    /** Absolute. */
    readonly scriptDirs: readonly string[];
  };
}

/** A key the resolver did not recognise: reported, never fatal (typos must not stop the host). */
export interface ConfigWarning {
  /** e.g. "scheduler.max_concurent_runs". */
  readonly key: string;
  readonly line: number | undefined;
  /** Complete sentence, already naming the file and line. */
  readonly message: string;
}

export interface ConfigResolution {
  readonly config: ResolvedConfig;
  readonly warnings: readonly ConfigWarning[];
}

/**
 * Every key at its default, in the user's spelling. The one source of the
 * defaults: the resolver falls back to these, and `config/config.yaml` mirrors
 * them (a test keeps the two in step).
 */
export const DEFAULT_CONFIG_OPTIONS = {
  scheduler: {
    timezone: "local",
    max_memory_usage: 500,
    memory_check_interval: 10,
    max_concurrent_runs: 8,
    shutdown_grace: 30,
    isolation: "context",
  },
  database: {
    path: "data/scheduler.db",
    history_per_task: 1000,
    url: null,
    lease: 6,
  },
  logging: {
    level: "info",
    directory: "logs",
    max_size: "10 MB",
    rotation: "daily",
    retention: 7,
  },
  tasks: {
    directory: "tasks",
    include_example_tasks: false,
    reload_on_change: true,
  },
  dependencies: {
    registry: null,
    install_timeout: 300,
  },
  notifications: {
    notify_on_failure: false,
  },
  dashboard: {
    enabled: false,
    host: "127.0.0.1",
    port: 8787,
    token: null,
  },
  alerts: ALERTS_DEFAULTS,
  metrics: METRICS_DEFAULTS,
  authoring: {
    script_dirs: ["scripts"],
  },
} as const satisfies Required<{ [K in keyof ConfigOptions]: NonNullable<Required<ConfigOptions[K]>> }>;

/** The environment variable that supplies `dashboard.token` when the file leaves it null. */
export const DASHBOARD_TOKEN_ENV = "TASKHOST_DASHBOARD_TOKEN";
export const DATABASE_URL_ENV = "TASKHOST_DATABASE_URL";

/**
 * A task file's frontmatter (contract §2), in its two shapes:
 *
 * - `TaskMetaInput`: the YAML as the user wrote it (snake_case, all optional,
 *   values unchecked — hence `unknown`).
 * - `ResolvedTaskMeta`: every field present and valid, camelCase, units in the
 *   names. Built only by `parseTaskFile()` and deep-frozen.
 */

import { DURATION_BOUND, MACHINE_MEMORY_BOUND, MAX_RETRY_COUNT, type Bound } from "../config/value-bounds.ts";

export type CatchUpPolicy = "once" | "skip" | "all";
export const CATCH_UP_POLICIES: readonly CatchUpPolicy[] = ["once", "skip", "all"];

export type OverlapPolicy = "skip" | "queue" | "allow" | "replace";
export const OVERLAP_POLICIES: readonly OverlapPolicy[] = ["skip", "queue", "allow", "replace"];

/** Where a run's code executes (issue 13; contract §13): see runtime/scheduler/run-launcher.ts. */
export type IsolationLevel = "context" | "task" | "worker";
export const ISOLATION_LEVELS: readonly IsolationLevel[] = ["context", "task", "worker"];

export interface TaskMetaInput {
  title?: unknown;
  description?: unknown;
  dependencies?: unknown;
  enabled?: unknown;
  /** Seconds. */
  timeout?: unknown;
  retry_count?: unknown;
  /** Seconds. */
  retry_delay?: unknown;
  catch_up?: unknown;
  overlap?: unknown;
  timezone?: unknown;
  start_date?: unknown;
  end_date?: unknown;
  node_version?: unknown;
  /** MB. */
  memory_limit?: unknown;
  allow_scripts?: unknown;
  notify_on_failure?: unknown;
  /** Channel names under alerts.channels; false or [] for none. */
  alerts?: unknown;
  ping_url?: unknown;
  isolation?: unknown;
}

/** The field names a frontmatter may use; anything else is a warning. */
export const TASK_META_FIELDS: readonly (keyof TaskMetaInput)[] = [
  "title",
  "description",
  "dependencies",
  "enabled",
  "timeout",
  "retry_count",
  "retry_delay",
  "catch_up",
  "overlap",
  "timezone",
  "start_date",
  "end_date",
  "node_version",
  "memory_limit",
  "allow_scripts",
  "notify_on_failure",
  "alerts",
  "ping_url",
  "isolation",
];

export interface ResolvedTaskMeta {
  /** Display name and log prefix; the file name without `.ts` when not given. */
  readonly title: string;
  readonly description: string;
  /** npm registry specs (`name`, `name@range`, `@scope/name@tag`), validated. */
  readonly dependencies: readonly string[];
  /** false: loaded and validated, never scheduled. */
  readonly enabled: boolean;
  readonly timeoutSec: number;
  readonly retryCount: number;
  readonly retryDelaySec: number;
  readonly catchUp: CatchUpPolicy;
  readonly overlap: OverlapPolicy;
  /** IANA name; null = the scheduler's zone. */
  readonly timezone: string | null;
  /** Epoch ms; null = no lower bound. */
  readonly startDate: number | null;
  /** Epoch ms; null = no upper bound. */
  readonly endDate: number | null;
  /** semver range the running Node must satisfy; null = any. */
  readonly nodeVersion: string | null;
  readonly memoryLimitMb: number;
  readonly allowScripts: boolean;
  /** Desktop notification when a run fails after its retries; null = `notifications.notify_on_failure`. */
  readonly notifyOnFailure: boolean | null;
  /** The alert channels of this task (names under `alerts.channels`); null = every channel; [] = none. */
  readonly alerts: readonly string[] | null;
  /** Healthchecks.io-style ping URL: `<url>/start`, `<url>`, `<url>/fail`. */
  readonly pingUrl: string | null;
  /** null = `scheduler.isolation`. */
  readonly isolation: IsolationLevel | null;
}

/** Defaults of contract §2 (title has none: it comes from the file name). */
export const TASK_META_DEFAULTS = Object.freeze({
  description: "",
  dependencies: Object.freeze([]) as readonly string[],
  enabled: true,
  timeoutSec: 300,
  retryCount: 0,
  retryDelaySec: 60,
  catchUp: "once" as CatchUpPolicy,
  overlap: "skip" as OverlapPolicy,
  timezone: null,
  startDate: null,
  endDate: null,
  nodeVersion: null,
  memoryLimitMb: 512,
  allowScripts: false,
  notifyOnFailure: null,
  alerts: null,
  pingUrl: null,
  isolation: null,
});

/** The largest value of each numeric field taskhost can honour (issue 10.11); over it a field is refused. */
export const TASK_META_BOUNDS: Partial<Record<keyof TaskMetaInput, Bound>> = Object.freeze({
  timeout: DURATION_BOUND,
  retry_delay: DURATION_BOUND,
  retry_count: { max: MAX_RETRY_COUNT, unit: "retries", why: "more is a loop, not a retry" },
  memory_limit: MACHINE_MEMORY_BOUND,
});

/**
 * What alerting (start-alerting.ts) needs of the scheduler and the catalog, and
 * the shapes of the scheduler's skip and miss events it listens to.
 */
import type { RunEventInfo } from "../scheduler/scheduler-types.ts";
import type { MetricsSource } from "../metrics/host-metrics.ts";
import type { ResolvedTaskMeta } from "../task-file/task-meta.ts";

/** The scheduler as alerting sees it (typed events; run.skipped and occurrence.missed where the scheduler has them). */
/* eslint-disable @typescript-eslint/no-explicit-any -- listener shapes of EventEmitter<EventMap>, whose maps differ per emitter */
export interface AlertingScheduler {
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
  nextRunOf(scheduleId: string): number | null;
  isPaused(taskId: string): boolean;
  readonly runningCount: number;
}

/** A task as the catalog holds it. */
export interface AlertingTask {
  readonly id: string;
  title: string;
  error: string | null;
  loaded: { readonly meta: ResolvedTaskMeta; readonly schedules: ReadonlyArray<{ readonly id: string }> } | null;
}

export interface AlertingCatalog {
  on(event: "entry.changed", listener: (entry: AlertingTask) => void): unknown;
  on(event: "entry.removed", listener: (id: string) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
  get(id: string): AlertingTask | undefined;
  readonly entries: ReadonlyMap<string, AlertingTask>;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** An occurrence recorded skipped (overlap, a full queue, a slot wait, catch_up); the scheduler's `run.skipped`. */
export interface RunSkippedInfo extends RunEventInfo {
  /** As recorded in the run's error ("skipped: …"). */
  reason: string;
  code?: string;
}

/** Occurrences that passed unrun (the host was down or asleep); the scheduler's `occurrence.missed`. */
export interface OccurrenceMissedInfo {
  taskId: string;
  scheduleId: string;
  /** The first occurrence missed. */
  first: number;
  count: number;
  countIsFloor?: boolean;
  /** `skip`: none of them runs; else a catch-up run stands for them. */
  policy?: "once" | "skip" | "all";
  cause?: "host-down" | "asleep";
}

/** What /metrics reads at scrape time, from the host's catalog and scheduler. */
export function metricsSourceOf(catalog: AlertingCatalog, scheduler: AlertingScheduler): MetricsSource {
  const entries = () => [...catalog.entries.values()];
  return {
    // A paused task's stored next run is not going to happen (resume counts from then): absent, as status shows it.
    schedules: () => entries().flatMap((e) => (e.loaded?.schedules ?? []).map((s) => ({ id: s.id, nextRun: scheduler.isPaused(e.id) ? null : scheduler.nextRunOf(s.id) }))),
    tasksInError: () => entries().filter((e) => e.error != null).length,
    runningRuns: () => scheduler.runningCount,
  };
}

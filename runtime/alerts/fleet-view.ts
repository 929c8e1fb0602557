/**
 * What the shared ledger says about a task, read before each alert decision:
 * with several hosts on one database (contract §10), a host sees only its own
 * runs and alerts in memory, so streaks, repeat_after and "was this occurrence
 * run?" must come from the ledger, the one truth all hosts share. Pure
 * functions over rows the wiring (start-alerting.ts) read; no I/O here.
 */
import type { AlertRow, RunRow } from "../store/ledger.ts";

type StreakRun = { readonly status: string; readonly trigger: string; readonly scheduledFor: number | null };

/**
 * How many occurrences in a row failed, newest first, on any host: a success
 * ends the count; manual and backfill runs and runs not ended (running,
 * skipped, interrupted) do not count; retries of one occurrence count once.
 */
export function failedInARow(runs: ReadonlyArray<StreakRun>): number {
  const failed = new Set<number>();
  for (const run of runs) {
    if (run.trigger === "manual" || run.trigger === "backfill" || !["success", "failure", "timeout"].includes(run.status)) continue;
    if (run.status === "success") break;
    failed.add(run.scheduledFor ?? -1);
  }
  return failed.size;
}

/** A task's alerts as the fleet raised them (what AlertRules.adopt takes). */
export interface AlertHistory {
  /** The newest time each rule alerted (failure and streak: only since the last recovered, a new incident alerts at once). */
  lastAt: Map<string, number>;
  /** The newest recovered alert, if any. */
  recoveredAt: number | null;
  /** Whether a failure or streak alert is not yet answered by a recovered one; null: no such alert at all. */
  incidentOpen: boolean | null;
  /** The occurrences ("schedule@time") a missed alert was already raised for, by any host. */
  missedOccurrences: Array<{ scheduleId: string; scheduledFor: number }>;
}

/** `alerts`: the task's alerts, newest first (Ledger.listAlerts). */
export function alertHistory(alerts: ReadonlyArray<Pick<AlertRow, "event" | "at" | "scheduleId" | "scheduledFor">>): AlertHistory {
  const lastAt = new Map<string, number>();
  let recoveredAt: number | null = null;
  let incidentOpen: boolean | null = null;
  const missedOccurrences: AlertHistory["missedOccurrences"] = [];
  for (const a of alerts) {
    if (a.event === "recovered" && recoveredAt == null) recoveredAt = a.at;
    if (incidentOpen == null && (a.event === "failure" || a.event === "streak" || a.event === "recovered")) incidentOpen = a.event !== "recovered";
    if (a.event === "missed" && a.scheduleId != null && a.scheduledFor != null) missedOccurrences.push({ scheduleId: a.scheduleId, scheduledFor: a.scheduledFor });
    // Alerts before the last recovery belong to an incident that is over.
    if ((a.event === "failure" || a.event === "streak") && recoveredAt != null && a.at <= recoveredAt) continue;
    if (!lastAt.has(a.event) || lastAt.get(a.event)! < a.at) lastAt.set(a.event, a.at);
  }
  return { lastAt, recoveredAt, incidentOpen, missedOccurrences };
}

/**
 * Whether some host took an occurrence on (its runs in the ledger, any host):
 * it started, or it ended or was skipped (the host that skipped it reports
 * that). A claim not started yet is still overdue.
 */
export function occurrenceTakenOn(runs: ReadonlyArray<Pick<RunRow, "startedAt" | "status">>): boolean {
  return runs.some((r) => r.startedAt != null || r.status !== "running");
}

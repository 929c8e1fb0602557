import type { RunStatus, RunTrigger } from "../store/ledger.ts";
import type { AlertRule, ResolvedAlertsOptions } from "../config/alerts-options.ts";
import { DurationMedian } from "./duration-median.ts";
import { RateLimit } from "./rate-limit.ts";
import { failedInARow, type AlertHistory } from "./fleet-view.ts";

/**
 * A run is slow by slow_factor only if it also took this much longer than its
 * median: a 3 ms run that took 12 ms (a busy boundary) is not news (measured:
 * 100 tasks every second raised a dozen such alerts a minute).
 */
export const SLOW_MARGIN_MS = 1000;

/**
 * The alert rules of contract §11 as pure decisions: each method takes one
 * thing that happened (with its time from the caller's clock) and returns the
 * alerts it calls for, already rate-limited per task and rule. No I/O, no
 * timers: the wiring (start-alerting.ts) feeds it and delivers what it says.
 */

/** The rules' part of `alerts:` (config/alerts-options.ts), per task after its frontmatter's overrides. */
export type RuleSettings = Pick<ResolvedAlertsOptions, "rules" | "failureStreak" | "slowFactor" | "slowAfterSec" | "missedGraceSec" | "repeatAfterSec">;

/** One alert to send: which rule, about what, in words. */
export interface AlertDecision {
  readonly rule: AlertRule;
  readonly taskId: string;
  readonly scheduleId: string | null;
  /** The run it is about (failure, streak, recovered, slow, a late start), else null. */
  readonly runId: number | null;
  /** The occurrence it is about (missed, or the run's), else null. */
  readonly scheduledFor: number | null;
  readonly text: string;
  readonly at: number;
}

export interface EndedRun {
  runId: number;
  taskId: string;
  scheduleId: string;
  title: string;
  status: RunStatus;
  trigger: RunTrigger;
  attempt: number;
  /** The task's retry_count: attempt <= retryCount means a retry follows... */
  retryCount: number;
  /** ...unless the scheduler says whether one does (it knows about a stopping host). */
  retryFollows?: boolean;
  startedAt: number | null;
  finishedAt: number;
  error: string | null;
  /** The occurrence it ran for (null: a manual run). */
  scheduledFor?: number | null;
}

export interface StartedRun {
  runId: number;
  taskId: string;
  scheduleId: string;
  title: string;
  scheduledFor: number;
  startedAt: number;
  trigger: RunTrigger;
}

export type MissReason = "overdue" | "late" | "skipped" | "missed";

export interface MissedOccurrence {
  taskId: string;
  scheduleId: string;
  title: string;
  scheduledFor: number;
  reason: MissReason;
  /** Why, in words (the scheduler's skip reason, for one). */
  detail?: string;
}

/** Occurrences remembered as already alerted (missed), so a late start after "overdue" is not a second alert. */
const SEEN_OCCURRENCES = 10_000;

export class AlertRules {
  private readonly limit = new RateLimit();
  private readonly streaks = new Map<string, number>();
  /** Tasks with a failure or streak alert not yet followed by a success. */
  private readonly alerted = new Set<string>();
  private readonly errors = new Map<string, string>();
  private readonly missed = new Set<string>();
  /** The text of each task's last error alert before this host started. */
  private readonly restoredErrors = new Map<string, string>();
  readonly durations = new DurationMedian();

  constructor(
    private readonly settings: () => RuleSettings,
    /** A rule that would have alerted, held back by repeat_after (counted in /metrics). */
    private readonly onHeldBack: (rule: AlertRule) => void = () => {},
  ) {}

  /**
   * The alerts an earlier host sent, newest first (from the alert log): rate
   * limits, "a failure was alerted" (for recovered) and the error a task was
   * already reported with carry over a restart, so a memory restart does not
   * send everything again.
   */
  restore(alerts: ReadonlyArray<{ taskId: string; event: string; at: number; text: string }>): void {
    const incident = new Set<string>();
    const recoveredAt = new Map<string, number>();
    for (const a of alerts) {
      this.limit.seed(ruleKey(a.taskId, a.event), a.at);
      if ((a.event === "failure" || a.event === "streak" || a.event === "recovered") && !incident.has(a.taskId)) {
        incident.add(a.taskId);
        if (a.event !== "recovered") this.alerted.add(a.taskId);
      }
      if (a.event === "recovered" && !recoveredAt.has(a.taskId)) recoveredAt.set(a.taskId, a.at);
      if (a.event === "error" && !this.restoredErrors.has(a.taskId)) this.restoredErrors.set(a.taskId, a.text);
    }
    // As without the restart: a failure after a recovery is a new incident, alerted at once.
    for (const [taskId, at] of recoveredAt) this.endIncident(taskId, at);
  }

  /** Failure and streak alerts sent up to `recoveredAt` no longer rate-limit the task's next failure. */
  private endIncident(taskId: string, recoveredAt: number): void {
    for (const rule of ["failure", "streak"]) {
      const last = this.limit.lastOf(ruleKey(taskId, rule));
      if (last !== undefined && last <= recoveredAt) this.limit.reset(ruleKey(taskId, rule));
    }
  }

  /**
   * The task's recent runs, newest first: the occurrences that failed since its
   * last success carry over a restart, so the streak alert fires at the
   * failure_streak-th in a row, not that many after the restart. Runs this host
   * already counted are among them: the larger count stands.
   */
  seedStreak(taskId: string, runs: ReadonlyArray<{ status: string; trigger: string; scheduledFor: number | null }>): void {
    const failed = failedInARow(runs);
    if (failed > (this.streaks.get(taskId) ?? 0)) this.streaks.set(taskId, failed);
  }

  /**
   * What the shared ledger says of the task, just before a decision about it
   * (the wiring reads it): with several hosts on one ledger, this host's memory
   * holds only its own runs and alerts, so a streak counted here skipped the
   * other hosts' failures and repeat_after let each host alert once.
   *
   * `streak`: the task's failures in a row across the fleet, the run being
   * decided on left out (runEnded adds it); null when the ledger does not hold
   * that run (pruned, not recorded): then this host's own count stands.
   * `history`: the task's alerts from every host. A rule's last alert is the
   * later of the ledger's and this host's; a recovery another host alerted
   * ends this host's incident too.
   */
  adopt(taskId: string, fleet: { streak: number | null; history: AlertHistory | null }): void {
    if (fleet.streak != null) {
      if (fleet.streak > 0) this.streaks.set(taskId, fleet.streak);
      else this.streaks.delete(taskId);
    }
    const h = fleet.history;
    if (!h) return;
    for (const [rule, at] of h.lastAt) this.limit.observe(ruleKey(taskId, rule), at);
    if (h.recoveredAt != null) this.endIncident(taskId, h.recoveredAt);
    if (h.incidentOpen === true) this.alerted.add(taskId);
    else if (h.incidentOpen === false) this.alerted.delete(taskId);
    for (const o of h.missedOccurrences) this.rememberMissed(occurrenceKey(o.scheduleId, o.scheduledFor));
  }

  /**
   * Whether runEnded may alert about this run (a fleet reads its ledger first only then).
   * Manual and backfill runs are watched by whoever started them; retries are judged by their last attempt.
   */
  endMayAlert(run: Pick<EndedRun, "trigger" | "status" | "attempt" | "retryCount" | "retryFollows">): boolean {
    if (run.trigger === "manual" || run.trigger === "backfill" || run.status === "running" || run.status === "skipped" || run.status === "interrupted") return false;
    return run.status === "success" || !(run.retryFollows ?? run.attempt <= run.retryCount);
  }

  /** Whether runStarted may alert: a scheduled run that started later than missed_grace after its occurrence. */
  startMayAlert(run: Pick<StartedRun, "trigger" | "startedAt" | "scheduledFor">): boolean {
    return (run.trigger === "schedule" || run.trigger === "catch-up") && run.startedAt - run.scheduledFor > this.settings().missedGraceSec * 1000;
  }

  runEnded(run: EndedRun): AlertDecision[] {
    if (!this.endMayAlert(run)) return [];
    const out: AlertDecision[] = [];
    const at = run.finishedAt;
    const base = { taskId: run.taskId, scheduleId: run.scheduleId, runId: run.runId, scheduledFor: run.scheduledFor ?? null, at };
    if (run.status === "success") {
      this.streaks.delete(run.taskId);
      const durationMs = run.startedAt == null ? null : run.finishedAt - run.startedAt;
      if (durationMs != null) {
        const slow = this.slow(run, durationMs, at);
        if (slow) out.push({ ...base, rule: "slow", text: slow });
        this.durations.add(run.scheduleId, durationMs);
      }
      if (this.alerted.delete(run.taskId)) {
        // A new failure after this is a new incident: alert it at once.
        this.limit.reset(ruleKey(run.taskId, "failure"));
        this.limit.reset(ruleKey(run.taskId, "streak"));
        // Not rate-limited itself: it answers a failure alert, and those are.
        if (this.settings().rules.includes("recovered")) out.push({ ...base, rule: "recovered", text: `${run.title} (${run.scheduleId}) recovered: it succeeded after failing` });
      }
      return out;
    }
    // failure or timeout, and no retry follows
    const streak = (this.streaks.get(run.taskId) ?? 0) + 1;
    this.streaks.set(run.taskId, streak);
    const what = run.status === "timeout" ? "timed out" : "failed";
    const tries = run.attempt > 1 ? ` after ${run.attempt} attempts` : "";
    const reason = firstLine(run.error ?? run.status);
    if (this.fires("failure", run.taskId, at)) {
      this.alerted.add(run.taskId);
      out.push({ ...base, rule: "failure", text: `${run.title} (${run.scheduleId}) ${what}${tries}: ${reason}` });
    }
    if (streak >= this.settings().failureStreak && this.fires("streak", run.taskId, at)) {
      this.alerted.add(run.taskId);
      out.push({ ...base, rule: "streak", text: `${run.title} failed ${streak} times in a row; last: ${reason}` });
    }
    return out;
  }

  /** A run that started later than missed_grace after its occurrence counts as missed (late). */
  runStarted(run: StartedRun): AlertDecision[] {
    if (run.trigger !== "schedule" && run.trigger !== "catch-up") return [];
    if (!this.startMayAlert(run)) {
      this.rememberMissed(occurrenceKey(run.scheduleId, run.scheduledFor));
      return [];
    }
    const lagMs = run.startedAt - run.scheduledFor;
    const late = `started ${formatSeconds(lagMs / 1000)} after its time (missed_grace: ${this.settings().missedGraceSec}s)`;
    return this.occurrence({ ...run, reason: "late", detail: late }, run.startedAt, run.runId);
  }

  occurrenceMissed(miss: MissedOccurrence, now: number): AlertDecision[] {
    return this.occurrence(miss, now, null);
  }

  /**
   * A task's load result: an error where there was none (or another error) is
   * the "error" rule; a good load clears it.
   */
  taskLoaded(taskId: string, title: string, error: string | null, now: number): AlertDecision[] {
    const before = this.errors.get(taskId);
    if (error == null) {
      this.errors.delete(taskId);
      return [];
    }
    this.errors.set(taskId, error);
    const text = `${title} is an error task: ${firstLine(error)}`;
    const restored = this.restoredErrors.get(taskId);
    this.restoredErrors.delete(taskId);
    if (before === error || (before === undefined && restored === text) || !this.fires("error", taskId, now)) return [];
    return [{ rule: "error", taskId, scheduleId: null, runId: null, scheduledFor: null, at: now, text }];
  }

  taskRemoved(taskId: string): void {
    this.errors.delete(taskId);
    this.streaks.delete(taskId);
    this.alerted.delete(taskId);
  }

  private occurrence(miss: MissedOccurrence, now: number, runId: number | null): AlertDecision[] {
    const key = occurrenceKey(miss.scheduleId, miss.scheduledFor);
    if (this.missed.has(key)) return [];
    this.rememberMissed(key);
    if (!this.fires("missed", miss.taskId, now)) return [];
    const when = new Date(miss.scheduledFor).toISOString();
    const why: Record<MissReason, string> = {
      overdue: `has not started ${formatSeconds((now - miss.scheduledFor) / 1000)} after its time`,
      late: miss.detail ?? "started late",
      skipped: `was skipped: ${miss.detail ?? "overlap"}`,
      missed: `was missed: ${miss.detail ?? "the host was down or asleep"}`,
    };
    const text = `${miss.title}: the occurrence of ${miss.scheduleId} at ${when} ${why[miss.reason]}`;
    return [{ rule: "missed", taskId: miss.taskId, scheduleId: miss.scheduleId, runId, scheduledFor: miss.scheduledFor, at: now, text }];
  }

  private rememberMissed(key: string): void {
    this.missed.add(key);
    if (this.missed.size > SEEN_OCCURRENCES) this.missed.delete(this.missed.values().next().value!);
  }

  private slow(run: EndedRun, durationMs: number, at: number): string | null {
    const { slowFactor, slowAfterSec } = this.settings();
    const median = this.durations.median(run.scheduleId);
    const overFactor = median != null && median > 0 && durationMs > slowFactor * median && durationMs - median >= SLOW_MARGIN_MS;
    const overLimit = slowAfterSec != null && durationMs > slowAfterSec * 1000;
    if ((!overFactor && !overLimit) || !this.fires("slow", run.taskId, at)) return null;
    const took = formatSeconds(durationMs / 1000);
    return overFactor
      ? `${run.title} (${run.scheduleId}) took ${took}, ${(durationMs / median!).toFixed(1)}× its median of ${formatSeconds(median! / 1000)}`
      : `${run.title} (${run.scheduleId}) took ${took}, over alerts.slow_after (${slowAfterSec}s)`;
  }

  /** Whether `rule` is on and not rate-limited for the task (and takes the slot when it is not). */
  private fires(rule: AlertRule, taskId: string, now: number): boolean {
    const s = this.settings();
    if (!s.rules.includes(rule)) return false;
    if (this.limit.take(ruleKey(taskId, rule), now, s.repeatAfterSec * 1000)) return true;
    this.onHeldBack(rule);
    return false;
  }
}

/** Identifies one occurrence of one schedule. */
export function occurrenceKey(scheduleId: string, scheduledFor: number): string {
  return `${scheduleId}@${scheduledFor}`;
}

function firstLine(text: string): string {
  return text.split("\n")[0]!.slice(0, 300);
}

export function formatSeconds(sec: number): string {
  // A median of 21 ms is not "0.0s".
  if (sec < 1) return `${Math.round(sec * 1000)} ms`;
  if (sec < 10) return `${sec.toFixed(1)}s`;
  if (sec < 120) return `${Math.round(sec)}s`;
  if (sec < 7200) return `${Math.round(sec / 60)} min`;
  return `${(sec / 3600).toFixed(1)} h`;
}

/** repeat_after counts per task and rule: one key for seeding, the fleet's view and taking. */
function ruleKey(taskId: string, rule: string): string {
  return `${taskId}\0${rule}`;
}

import type { Ledger, RunRow, RunStatus } from "../store/ledger.ts";
import { isCode } from "../errors.ts";
import type { RunLifecycle, Settlement } from "./run-lifecycle.ts";
import type { PendingWork } from "./pending-work.ts";
import { CATCH_UP_LIMIT } from "./scheduling-policy.ts";
import type { Clock, HostLog, OccurrencesMissedInfo, RunEventInfo, SchedulerEvents, TaskLogLine, Timers } from "./scheduler-types.ts";

export type Emit = <K extends keyof SchedulerEvents>(event: K, ...args: SchedulerEvents[K]) => void;

export interface RunRecorderOptions {
  ledger: Ledger;
  log: HostLog;
  /** tasks.log: a run that failed says so there too, beside its output. */
  taskLog: TaskLogLine;
  clock: Clock;
  emit: Emit;
  /** database.history_per_task: runs kept per task. */
  historyPerTask: number;
  /** Where background writes (pruning) are tracked. */
  work: PendingWork;
  timers: Timers;
  /** The host is stopping: a run's end waits for an unreachable database only so long (STOP_WAIT_MS). */
  stopping(): boolean;
}

/** While stopping, how long a run's end is tried again for an unreachable database; then the next host records it (interrupted). */
const STOP_WAIT_MS = 15_000;
/** How a run that did not succeed ended, in tasks.log. */
const ENDED: Partial<Record<RunStatus, string>> = { failure: "failed", timeout: "timed out", interrupted: "was interrupted" };
/** The longest wait between tries of a run's end. */
const RETRY_MAX_MS = 5000;

/**
 * What a run's settlement means for the ledger, the host's log and the
 * scheduler's events: the effects half of the lifecycle's settle().
 */
export class RunRecorder {
  private readonly endsSincePrune = new Map<string, number>();
  /** When an unclaimed run's unreachable ledger was last logged, per schedule. */
  private readonly unreachableLogged = new Map<string, number>();
  private historyPerTask: number;

  constructor(private readonly options: RunRecorderOptions) {
    this.historyPerTask = options.historyPerTask;
  }

  configure(historyPerTask: number): void {
    this.historyPerTask = historyPerTask;
  }

  /** Its code began: recorded, logged (with its lag behind its occurrence) and announced. */
  async started(run: RunLifecycle, at: number): Promise<void> {
    const { subject } = run;
    const lagMs = at - subject.scheduledFor;
    this.options.log.info(
      { event: "run.start", ...logFields(run), ...(subject.trigger === "manual" || subject.trigger === "backfill" ? {} : { lagMs }) },
      `${subject.scheduleId} started (${subject.trigger}${subject.attempt > 1 ? `, attempt ${subject.attempt}` : ""})`,
    );
    this.options.emit("run.start", { ...eventInfo(run), startedAt: at });
    // Recorded before its code began (a shared ledger): the end carries the exact start.
    if (!run.startRecorded) await this.options.ledger.recordStart(run.runId!, at);
  }

  /** Occurrences that passed unrun were found: logged, and announced for the alerts. */
  missed(info: OccurrencesMissedInfo): void {
    const { scheduleId, first, count, countIsFloor, policy } = info;
    const since = new Date(first).toISOString();
    const more = count > CATCH_UP_LIMIT;
    this.options.log.warn(
      { event: "schedule.overdue", scheduleId, missed: count, first: since, policy, cause: info.cause },
      `${scheduleId}: ${Math.min(count, CATCH_UP_LIMIT)}${more ? "+" : ""} occurrence(s) missed since ${since}; catch_up: ${policy}` +
        (more ? ` (only the latest ${CATCH_UP_LIMIT} count, of ${count}${countIsFloor ? "+" : ""})` : ""),
    );
    this.options.emit("occurrence.missed", info);
  }

  /** Carries a settlement out; `retryAt` says whether a retry follows a run that ended. */
  async settled(run: RunLifecycle, settlement: Settlement, retryAt: number | null): Promise<RunRow | undefined> {
    const { ledger, log } = this.options;
    const { subject } = run;
    switch (settlement.kind) {
      case "ran": {
        const { outcome } = settlement;
        const durationMs = outcome.startedAt == null ? null : outcome.finishedAt - outcome.startedAt;
        log[outcome.status === "success" ? "info" : "error"](
          { event: "run.end", ...logFields(run), status: outcome.status, durationMs, ...(outcome.error ? { error: firstLine(outcome.error) } : {}) },
          `${subject.scheduleId} ${outcome.status}${durationMs != null ? ` in ${durationMs} ms` : ""}`,
        );
        if (outcome.status !== "success") {
          // Where its output went (`tail -f logs/tasks.log`, `taskhost logs <task>`): a failure is no quieter than a line.
          const retry = retryAt == null ? "" : `; retrying at ${new Date(retryAt).toISOString()}`;
          this.options.taskLog(subject.task.meta.title, "error", `run ${run.runId} ${ENDED[outcome.status] ?? `ended ${outcome.status}`}${outcome.error ? `: ${firstLine(outcome.error)}` : ""}${retry}`);
        }
        const row = await this.durably(run, () => ledger.recordEnd(run.runId!, outcome));
        this.options.emit("run.end", { ...eventInfo(run), ...outcome, retryAt });
        this.countForPrune(subject.task.id);
        return row;
      }
      case "skipped": {
        const id = await run.claim.catch(() => null);
        if (id == null) return undefined;
        log.info({ event: "run.skipped", ...logFields(run), code: settlement.code, reason: settlement.reason }, `${subject.scheduleId} ${settlement.reason}`);
        this.options.emit("run.skipped", { ...eventInfo(run), code: settlement.code, reason: settlement.reason });
        const end = { status: "skipped" as const, finishedAt: this.options.clock.now(), error: settlement.reason };
        const row = settlement.recorded ? await ledger.getRun(id) : await this.durably(run, () => ledger.recordEnd(id, end));
        this.countForPrune(subject.task.id);
        return row;
      }
      case "released": {
        const id = await run.claim.catch(() => null);
        // Only an occurrence of the schedule goes back to being due; a manual run or a retry is just dropped.
        const handBack = settlement.handBack && (subject.trigger === "schedule" || subject.trigger === "catch-up");
        if (id != null) await ledger.releaseClaim(id, { handBack });
        return undefined;
      }
      case "lost":
        log.debug({ event: "claim.lost", ...logFields(run) }, `${subject.scheduleId}: another host claimed ${new Date(subject.scheduledFor).toISOString()} first`);
        return undefined;
      case "unclaimed": {
        const message = settlement.error instanceof Error ? settlement.error.message : String(settlement.error);
        // An occurrence of the schedule is claimed again every few seconds until the database is back
        // (schedule-claims.ts): said once a minute, not each time. A manual run, a retry or a backfill's is not: an error.
        if (isCode(settlement.error, "ERR_DB_UNREACHABLE") && (subject.trigger === "schedule" || subject.trigger === "catch-up")) {
          if (!this.unreachableSaid(subject.scheduleId)) {
            log.warn(
              { event: "run.not_claimed", ...logFields(run), code: "ERR_DB_UNREACHABLE" },
              `${subject.scheduleId} not started yet: the ledger cannot be reached to claim it (${message}); it is claimed as soon as the database answers`,
            );
          }
          return undefined;
        }
        log.error(
          { event: "run.not_claimed", ...logFields(run), err: settlement.error },
          `${subject.scheduleId} not started: its claim could not be recorded durably (${message})`,
        );
        return undefined;
      }
    }
  }

  /**
   * A run's end, written once the ledger answers: a fleet's database away for a while must not
   * leave a run that ended `running` (other hosts would take it for in flight), nor let it be
   * called interrupted. Tried again with a growing pause; while the host stops, for STOP_WAIT_MS.
   */
  private async durably<T>(run: RunLifecycle, write: () => Promise<T>): Promise<T> {
    let pause = 500;
    let stopDeadline: number | null = null;
    for (let said = false; ; said = true) {
      try {
        const written = await write();
        if (said) this.options.log.info({ event: "run.end_recorded", ...logFields(run) }, `${run.subject.scheduleId}: its end is recorded now that the database answers`);
        return written;
      } catch (error) {
        if (!isCode(error, "ERR_DB_UNREACHABLE")) throw error;
        const now = this.options.clock.now();
        if (this.options.stopping()) {
          stopDeadline ??= now + STOP_WAIT_MS;
          if (now >= stopDeadline) throw error;
        }
        if (!said) {
          this.options.log.warn(
            { event: "run.end_waiting", ...logFields(run), code: "ERR_DB_UNREACHABLE" },
            `${run.subject.scheduleId}: the ledger cannot be reached to record this run's end; it is written as soon as the database answers`,
          );
        }
        await new Promise<void>((resolve) => this.options.timers.setTimeout(() => resolve(), pause));
        pause = Math.min(RETRY_MAX_MS, pause * 2);
      }
    }
  }

  /** Whether an unreachable ledger was said of this schedule within the last minute (else: it is now). */
  private unreachableSaid(scheduleId: string): boolean {
    const now = this.options.clock.now();
    const last = this.unreachableLogged.get(scheduleId);
    if (last !== undefined && now - last < 60_000) return true;
    if (this.unreachableLogged.size > 10_000) this.unreachableLogged.clear();
    this.unreachableLogged.set(scheduleId, now);
    return false;
  }

  private countForPrune(taskId: string): void {
    const n = (this.endsSincePrune.get(taskId) ?? 0) + 1;
    // Pruning costs a DELETE over the task's runs: once a tenth of the allowance has ended (so
    // history shows at most 10 % more than history_per_task), after every run below 20.
    if (n < Math.max(1, Math.floor(this.historyPerTask / 10))) {
      this.endsSincePrune.set(taskId, n);
      return;
    }
    this.endsSincePrune.set(taskId, 0);
    this.options.work.track("store.prune", this.options.ledger.pruneRuns(taskId, this.historyPerTask));
  }
}

function eventInfo(run: RunLifecycle): RunEventInfo {
  const { subject } = run;
  return {
    runId: run.runId!,
    taskId: subject.task.id,
    scheduleId: subject.scheduleId,
    scheduledFor: subject.scheduledFor,
    trigger: subject.trigger,
    attempt: subject.attempt,
  };
}

export function logFields(run: RunLifecycle) {
  const { subject } = run;
  return {
    taskId: subject.task.id,
    scheduleId: subject.scheduleId,
    runId: run.runId,
    scheduledFor: new Date(subject.scheduledFor).toISOString(),
    trigger: subject.trigger,
    attempt: subject.attempt,
  };
}

function firstLine(text: string): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}

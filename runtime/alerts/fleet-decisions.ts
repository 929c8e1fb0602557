/**
 * Alert decisions in the order their events came, each after reading what the
 * shared ledger says of the task (contract §10: several hosts, one ledger).
 * A host's memory holds only its own runs and alerts; the ledger holds every
 * host's, so before AlertRules decides, the task's recent runs (its failure
 * streak) and alerts (repeat_after, an open incident, missed occurrences
 * already alerted) are read and adopted, and an overdue occurrence is checked
 * against its runs: another host may have claimed and run it (the host that
 * lost the claim still expected it). The reads cost a query per alerting
 * event, never per run start. With a ledger no other host writes (sql.js) the
 * ledger says what memory does: decisions are taken at once, without reads.
 */
import type { AlertRow, Ledger, RunRow } from "../store/ledger.ts";
import type { AlertRules } from "./alert-rules.ts";
import { alertHistory, failedInARow, occurrenceTakenOn } from "./fleet-view.ts";

/** How many of a task's newest alerts are read: enough to hold the last of each rule within repeat_after. */
const ALERTS_READ = 200;

export interface FleetDecisionsOptions {
  /** Whether other hosts write the ledger too (database.url): else no read is needed. */
  shared: boolean;
  rules: AlertRules;
  store: Pick<Ledger, "listAlerts" | "listRunsBetween">;
  /** The task's recent runs, newest first (every host's). */
  recentRuns(taskId: string): Promise<RunRow[]>;
  /** A read failed: logged; the decision goes on with this host's memory. */
  failed(what: string): (error: unknown) => void;
}

export interface DecisionFacts {
  /** With `occurrence`: whether some host started, ran or skipped it; null: the ledger could not be read (not known). */
  occurrenceTaken: boolean | null;
  /**
   * The newest alert id the read saw (0: none), for Ledger.claimAlert: an alert another host
   * records after it is one this decision must not repeat. Null: no read (sql.js) or it failed.
   */
  alertsSeenUpTo: number | null;
}

export class FleetDecisions {
  private readonly chains = new Map<string, Promise<void>>();
  private closed = false;

  constructor(private readonly options: FleetDecisionsOptions) {}

  /** Alerting closed (the host stops, its channels and ledger go): decisions still queued are dropped. */
  close(): void {
    this.closed = true;
  }

  /**
   * Queues a decision about `taskId` behind the earlier ones (each waits for the
   * alerts before it to be recorded, so the next read sees them). `runId`: the
   * run being decided on (its streak is read without it); `occurrence`: one to
   * look up in the ledger's runs. `decide` returns the recordings it started.
   */
  decide(
    taskId: string,
    what: { runId?: number; streak?: boolean; occurrence?: { scheduleId: string; scheduledFor: number } },
    decide: (facts: DecisionFacts) => ReadonlyArray<Promise<unknown>>,
  ): void {
    if (!this.options.shared) {
      Promise.all(decide({ occurrenceTaken: false, alertsSeenUpTo: null })).catch(this.options.failed(`deciding on alerts of ${taskId}`));
      return;
    }
    this.enqueue(taskId, async () => {
      const facts = await this.read(taskId, what);
      if (!this.closed) await Promise.all(decide(facts));
    });
  }

  /**
   * Updates the rules' state for `taskId` without a decision to read for (an on-time start, a
   * fixed file, a removed task): at once, or after the decisions queued for the task, so an
   * older event's decision never lands on a newer state.
   */
  inOrder(taskId: string, update: () => void): void {
    if (!this.chains.has(taskId)) return update();
    this.enqueue(taskId, update);
  }

  /** Runs `step` after the task's queued ones (not once closed); its failure is logged, never thrown. */
  private enqueue(taskId: string, step: () => Promise<void> | void): void {
    const next = (this.chains.get(taskId) ?? Promise.resolve())
      .then(() => (this.closed ? undefined : step()))
      .catch(this.options.failed(`deciding on alerts of ${taskId}`));
    this.chains.set(taskId, next);
    void next.then(() => {
      if (this.chains.get(taskId) === next) this.chains.delete(taskId);
    });
  }

  /** Resolves once every queued decision is taken (tests, idle()). */
  async idle(): Promise<void> {
    while (this.chains.size) await Promise.all([...this.chains.values()]);
  }

  private async read(taskId: string, what: { runId?: number; streak?: boolean; occurrence?: { scheduleId: string; scheduledFor: number } }): Promise<DecisionFacts> {
    const { rules, store, recentRuns, failed } = this.options;
    const [runs, alerts, occurrenceRuns] = await Promise.all([
      what.streak ? recentRuns(taskId).catch((e: unknown) => (failed(`reading the runs of ${taskId}`)(e), null)) : null,
      store.listAlerts({ taskId, limit: ALERTS_READ }).catch((e: unknown) => (failed(`reading the alerts of ${taskId}`)(e), null as AlertRow[] | null)),
      what.occurrence
        ? store
            .listRunsBetween(what.occurrence.scheduledFor, what.occurrence.scheduledFor + 1, { scheduleId: what.occurrence.scheduleId })
            .catch((e: unknown) => (failed(`reading the runs of ${what.occurrence!.scheduleId}`)(e), null))
        : null,
    ]);
    // The streak is the ledger's only when it holds the run decided on (a pruned or unrecorded one: memory's count).
    const current = runs?.find((r) => r.id === what.runId);
    // Its occurrence's earlier attempts (retries) are left out with it: runEnded counts the occurrence once.
    const streak = runs && current ? failedInARow(runs.filter((r) => r.scheduleId !== current.scheduleId || r.scheduledFor !== current.scheduledFor)) : null;
    rules.adopt(taskId, { streak, history: alerts ? alertHistory(alerts) : null });
    return {
      occurrenceTaken: what.occurrence && occurrenceRuns == null ? null : occurrenceRuns != null && occurrenceTakenOn(occurrenceRuns),
      alertsSeenUpTo: alerts ? alerts.reduce((max, a) => Math.max(max, a.id), 0) : null,
    };
  }
}

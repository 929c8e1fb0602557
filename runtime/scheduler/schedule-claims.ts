import type { Ledger, OccurrenceClaim } from "../store/ledger.ts";
import type { ScheduleState } from "./schedule-book.ts";
import type { Clock, HostLog } from "./scheduler-types.ts";
import { HOLD_MS, UNREACHABLE_RETRY_MS } from "./scheduling-policy.ts";
import { isCode } from "../errors.ts";

export interface ScheduleClaimsOptions {
  ledger: Ledger;
  log: HostLog;
  clock: Clock;
  /** Whether the state is still the book's (not reloaded or dropped since). */
  isCurrent(state: ScheduleState): boolean;
  /** Something changed that the clock loop should look at now. */
  wake(): void;
}

/**
 * A schedule's claims, in order, and what a lost one means: another host
 * moved the schedule on (its next run is taken), an occurrence already has a
 * run (the others are claimed), or the ledger refused this host (held for a
 * moment), or holds another version or none of the schedule.
 */
export class ScheduleClaims {
  constructor(private readonly options: ScheduleClaimsOptions) {}

  /**
   * Takes occurrences in the ledger and moves the schedule's next run on from
   * `expected` to `next`: here at once, in the ledger if no other host did
   * first. Resolves with each occurrence's run id, in order; null for one
   * another host (or an earlier life) took. Claims of one schedule go out in
   * order: each expects the next run the one before left.
   */
  claim(state: ScheduleState, expected: number, next: number | null, occurrences: OccurrenceClaim["occurrences"], owner: string): Promise<Array<number | null>> {
    state.nextRun = next;
    state.claims++;
    const claimed = state.claiming.then(() => this.claimInOrder(state, expected, next, occurrences, owner));
    state.claiming = claimed.catch(() => {});
    return claimed;
  }

  private async claimInOrder(state: ScheduleState, expected: number, next: number | null, occurrences: OccurrenceClaim["occurrences"], owner: string) {
    const { ledger, log } = this.options;
    const { schedule, task } = state;
    const send = (list: OccurrenceClaim["occurrences"]) =>
      ledger.claimOccurrences({ scheduleId: schedule.id, taskId: task.id, expectedNext: expected, next, fingerprint: schedule.fingerprint, owner, occurrences: list });
    // Whether what this answer says still applies: the schedule was not reloaded, reset or claimed on since.
    const unchanged = () => this.options.isCurrent(state) && state.nextRun === next;
    let result: Awaited<ReturnType<typeof send>>;
    try {
      result = await send(occurrences);
    } catch (error) {
      // The ledger cannot be reached (a fleet's database is away): the occurrence stays due and is
      // claimed again in a moment, so it runs (as catch_up says) once the database is back, not
      // when the next occurrence comes, a day later for a daily task.
      if (isCode(error, "ERR_DB_UNREACHABLE") && unchanged()) this.holdDue(state, expected, UNREACHABLE_RETRY_MS);
      throw error;
    }
    if (result.ok) return result.runIds;
    const none = occurrences.map(() => null);
    const current = result.current;
    if (current == null) {
      // Another writer dropped the schedule (its file is gone there) while this host has it loaded.
      if (unchanged()) await this.recordAgain(state);
      return none;
    }
    if (current.fingerprint !== schedule.fingerprint) {
      // Another writer loaded another version of the task: this host claims only the version it runs.
      if (unchanged()) {
        state.nextRun = expected;
        state.heldUntil = Infinity;
        log.warn(
          { event: "claim.version", scheduleId: schedule.id },
          `${schedule.id}: the ledger holds another version of this schedule (another host loaded a different task file); this host does not run it until they agree`,
        );
      }
      return none;
    }
    if (current.nextRun !== expected) {
      // Another host moved the schedule on (or it changed): its next run is what the ledger says,
      // unless this one moved on since (reloaded, reset).
      if (unchanged()) {
        state.nextRun = current.nextRun;
        this.options.wake();
      }
      return none;
    }
    // The ledger still expects the same next run: some of these occurrences are recorded already
    // (its next run was moved back, the clock stepped back). Claim the others; the next run moves on.
    const at = occurrences.map((o) => o.scheduledFor);
    const recorded = await ledger.listRunsBetween(Math.min(...at), Math.max(...at) + 1, { scheduleId: schedule.id });
    const taken = new Set(recorded.filter((r) => r.trigger !== "manual" && r.attempt === 1).map((r) => r.scheduledFor));
    if (taken.size === 0) {
      // Refused with nothing recorded: the ledger does not let this host claim now (a shared ledger:
      // its task paused by another host, or this host's lease lapsed). Not again at once: held until
      // another host's change to it is seen, or for a moment.
      if (unchanged()) {
        log.info({ event: "claim.refused", scheduleId: schedule.id }, `${schedule.id}: the ledger refused this host's claim; not claimed again for ${HOLD_MS} ms unless its schedule changes`);
        this.holdDue(state, expected, HOLD_MS);
      }
      return none;
    }
    const left = occurrences.filter((o) => !taken.has(o.scheduledFor));
    log.warn(
      { event: "claim.taken", scheduleId: schedule.id, occurrences: occurrences.length - left.length },
      `${schedule.id}: ${occurrences.length - left.length} occurrence(s) already have a run in the ledger; each runs at most once`,
    );
    if (left.length === 0) {
      await ledger.setNextRun(schedule.id, next);
      return none;
    }
    result = await send(left);
    if (!result.ok) return none;
    const ids = new Map(left.map((o, i) => [o.scheduledFor, result.ok ? result.runIds[i]! : null]));
    return occurrences.map((o) => ids.get(o.scheduledFor) ?? null);
  }

  /** A claim that did not go through: `expected` stays the schedule's next run, claimed again in `ms` (or when another host's change to it is seen). */
  private holdDue(state: ScheduleState, expected: number, ms: number): void {
    state.nextRun = expected;
    state.heldUntil = this.options.clock.now() + ms;
    this.options.wake();
  }

  /** The ledger lost a schedule this host has loaded (another writer dropped it): it is recorded again, from now. */
  private async recordAgain(state: ScheduleState): Promise<void> {
    const { schedule, task } = state;
    const row = await this.options.ledger.ensureSchedule({
      id: schedule.id,
      taskId: task.id,
      method: schedule.method,
      fingerprint: schedule.fingerprint,
      spec: schedule.text,
      firstRun: task.meta.enabled ? state.occurrences.after(this.options.clock.now()) : null,
      enabled: task.meta.enabled,
    });
    if (!this.options.isCurrent(state)) return;
    state.nextRun = task.meta.enabled ? row.nextRun : null;
    this.options.wake();
  }
}

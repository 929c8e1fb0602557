/**
 * How much earlier than its own lead time a run is armed when many are due on
 * the same instant (issue 13: "start a run's worker ahead of the boundary by
 * the measured cost of what is due then"). Arming a run (claiming its
 * occurrence in the ledger, taking a run slot, launching it) costs the host
 * some time, and the runs of one instant are armed one after another: the
 * last of 1,000 would otherwise still be arming when the instant comes. So
 * the instant's runs are armed ahead by how many are due then times what
 * arming one has been measured to cost.
 */

import { CROWD_LANES } from "./run-lanes.ts";

/** Before anything was measured: what arming a run costs on a slow machine. */
const INITIAL_PER_RUN_MS = 1;
/** Before anything was measured: what telling a run to go costs on a slow machine (measured 1-3 ms here). */
const INITIAL_TELL_MS = 2;
/** The least a run is taken to cost to tell, however fast the last crowd was told. */
const MIN_TELL_MS = 1;
/** What loading a run queued on a warm worker costs it (measured 0.4-2 ms here). */
const QUEUED_LOAD_MS = 2;
/** Weight of the newest measurement. */
const NEWEST_WEIGHT = 0.3;
/** However crowded an instant, its runs are not armed more than this ahead. */
export const MAX_CROWD_LEAD_MS = 10_000;
/** Fewer runs armed together are not measured. */
const MIN_BATCH = 8;

/** How many runs are due at each instant (an armed run's instant, else the schedule's next run). */
export function countDue(schedules: Iterable<{ nextRun: number | null; armed: { subject: { scheduledFor: number } } | null }>): Map<number, number> {
  const due = new Map<number, number>();
  for (const { nextRun, armed } of schedules) {
    const at = armed?.subject.scheduledFor ?? nextRun;
    if (at != null) due.set(at, (due.get(at) ?? 0) + 1);
  }
  return due;
}

export class CrowdLead {
  /**
   * `baseGoAheadMs`: how long before its instant any loaded run may be told to go (scheduling-policy.ts);
   * `lanes`: how many workers a crowd's short runs are spread over (slot-keeper.ts).
   */
  constructor(
    private readonly baseGoAheadMs: number,
    private readonly lanes = CROWD_LANES,
  ) {}

  private perRunMs = INITIAL_PER_RUN_MS;
  /** What telling a run to go costs the host (its admission, last look, launch and state read), as measured. */
  private tellPerRunMs = INITIAL_TELL_MS;

  /** `runs` were armed together and it took `elapsedMs` until the last was armed (its claim durable, its run launched). */
  record(runs: number, elapsedMs: number): void {
    // A few runs at a time measure the fsync they share more than what each adds.
    if (runs < MIN_BATCH || !Number.isFinite(elapsedMs) || elapsedMs < 0) return;
    this.perRunMs += NEWEST_WEIGHT * (elapsedMs / runs - this.perRunMs);
  }

  /** `runs` were told to go together and it took `elapsedMs` until the last one's state was read (its go on its way). */
  recordTelling(runs: number, elapsedMs: number): void {
    if (runs < MIN_BATCH || !Number.isFinite(elapsedMs) || elapsedMs < 0) return;
    this.tellPerRunMs += NEWEST_WEIGHT * (elapsedMs / runs - this.tellPerRunMs);
  }

  /** Extra lead for an instant `dueTogether` runs are due on: the arming of the others may come first. */
  leadMs(dueTogether: number): number {
    return Math.min(MAX_CROWD_LEAD_MS, Math.round(Math.max(0, dueTogether - 1) * this.perRunMs));
  }

  /** leadMs() for the runs due at `at`, given how many are due at each instant. */
  at(due: ReadonlyMap<number, number>, at: number | null | undefined): number {
    return at == null ? 0 : this.leadMs(due.get(at) ?? 0);
  }

  /**
   * How long before `at` a loaded run due then may be told to go (decideTick's goAheadMs): the base,
   * and for a crowded instant as much again as the host takes to tell its runs one after another
   * (as measured, three times over for a margin), then the loads this sets off (a run queued behind
   * another in a lane, run-lanes.ts, loads on that run's worker once told), so the whole crowd is
   * told and loaded before the instant. The tick and the wake once a run is loaded both ask this.
   */
  goAheadMs(due: ReadonlyMap<number, number>, at: number | null | undefined, occurrences?: { after(at: number): number | null }): number {
    return this.baseGoAheadMs + this.crowdGoAheadMs(due, at, occurrences);
  }

  private crowdGoAheadMs(due: ReadonlyMap<number, number>, at: number | null | undefined, occurrences?: { after(at: number): number | null }): number {
    const count = at == null ? 0 : (due.get(at) ?? 0);
    if (at == null || count < 2) return 0;
    // At most a quarter of the schedule's period: its previous runs must be over by then (a run
    // of a task in flight holds the next one back, and it could follow no other run).
    const next = occurrences?.after(at) ?? null;
    const cap = next === null ? MAX_CROWD_LEAD_MS : (next - at) / 4;
    // A host that told the last crowd fast may be slow with the next (a snapshot, a collection): never under 1 ms a run.
    const telling = (count - 1) * Math.max(MIN_TELL_MS, this.tellPerRunMs) * 3;
    // The loads queued on each lane's worker, one after another.
    const loading = Math.ceil(count / this.lanes) * QUEUED_LOAD_MS;
    return Math.round(Math.min(MAX_CROWD_LEAD_MS, cap, telling + loading));
  }

  /** What arming one run costs now, as measured (ms). */
  get perRun(): number {
    return this.perRunMs;
  }
}

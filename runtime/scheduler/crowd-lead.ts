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

/** Before anything was measured: what arming a run costs on a slow machine. */
const INITIAL_PER_RUN_MS = 1;
/** Weight of the newest measurement. */
const NEWEST_WEIGHT = 0.3;
/** However crowded an instant, its runs are not armed more than this ahead. */
export const MAX_CROWD_LEAD_MS = 10_000;
/** Fewer runs armed together are not measured. */
const MIN_BATCH = 8;

export class CrowdLead {
  private perRunMs = INITIAL_PER_RUN_MS;

  /** `runs` were armed together and it took `elapsedMs` until the last was armed (its claim durable, its run launched). */
  record(runs: number, elapsedMs: number): void {
    // A few runs at a time measure the fsync they share more than what each adds.
    if (runs < MIN_BATCH || !Number.isFinite(elapsedMs) || elapsedMs < 0) return;
    this.perRunMs += NEWEST_WEIGHT * (elapsedMs / runs - this.perRunMs);
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
   * How much earlier than GO_AHEAD_MS the runs due at `at` are told to go: telling each costs
   * the host about what arming it did, and a run queued behind another in a lane (run-lanes.ts)
   * loads on that run's worker once told, so the whole crowd's loads are done before the instant.
   */
  goAheadMs(due: ReadonlyMap<number, number>, at: number | null | undefined): number {
    return 2 * this.at(due, at);
  }

  /** What arming one run costs now, as measured (ms). */
  get perRun(): number {
    return this.perRunMs;
  }
}

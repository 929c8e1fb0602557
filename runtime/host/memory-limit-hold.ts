/**
 * A `max_memory_usage` a restart cannot meet, as a decision. A memory restart
 * cures growth; a host that is over the limit already at its first checks,
 * under the limit it started with, would come back over it after a restart,
 * and restart again every few seconds, each time cutting its runs off (and,
 * under systemd without the supervisor, failing the unit once its start limit
 * is hit). Such a host holds instead: it logs the figures once and holds its
 * own share to a ceiling of 1.5 × the most it occupies while it settles, so
 * growth is still cured, until `max_memory_usage` changes. A limit lowered by a reload is
 * different: that host may have grown, and the restart shows whether it had.
 */

/** The first checks after a start: while the host settles (its workers boot, its first boundary runs). */
export const SETTLE_MS = 60_000;
/** The ceiling a held host keeps, over what it occupied when it found its limit too low. */
export const HOLD_FACTOR = 1.5;

export interface LimitHold {
  /** The configured max_memory_usage the hold is for (another value ends it). */
  limitBytes: number;
  /** The host's own share over which it restarts while held. */
  ceilingBytes: number;
  /** The most the host's own share was at a check while it settled (the ceiling is HOLD_FACTOR × that). */
  ownBytes: number;
}

export interface HoldFacts {
  /** The host's own share at this check (RSS less its runs'). */
  ownBytes: number;
  /** max_memory_usage now, and when the host started. */
  limitBytes: number;
  limitAtStartBytes: number;
  /** Since the start, when the checks began to find the host over max_memory_usage. */
  overSinceMs: number;
  /** Since the memory watch began (the host's start), and between checks. */
  uptimeMs: number;
  intervalMs: number;
}

/** While the host settles; with a long interval, its first check still counts as right after the start. */
export function settleWindowMs(intervalMs: number): number {
  return Math.max(SETTLE_MS, 1.5 * intervalMs);
}

/** The hold still in force under `limitBytes`: one for another max_memory_usage (a reload) ends. */
export function holdFor(hold: LimitHold | null, limitBytes: number): LimitHold | null {
  return hold?.limitBytes === limitBytes ? hold : null;
}

/**
 * For a check whose verdict is a restart (the host's own share over what it is held to): the
 * hold instead, or the same `hold` (restart). A host over the limit it started with since a
 * check in its settle window holds; while it settles, its ceiling rises with the most it
 * occupies (a host still growing into its steady size is not restarted); after, it stays.
 */
export function nextHold(hold: LimitHold | null, facts: HoldFacts): LimitHold | null {
  const window = settleWindowMs(facts.intervalMs);
  const ceilingOf = (ownBytes: number) => Math.max(facts.limitBytes, Math.ceil(ownBytes * HOLD_FACTOR));
  if (hold && hold.limitBytes === facts.limitBytes) {
    if (facts.uptimeMs > window || facts.ownBytes <= hold.ownBytes) return hold;
    return { ...hold, ownBytes: facts.ownBytes, ceilingBytes: Math.max(hold.ceilingBytes, ceilingOf(facts.ownBytes)) };
  }
  if (facts.overSinceMs > window || facts.limitBytes !== facts.limitAtStartBytes) return null;
  return { limitBytes: facts.limitBytes, ownBytes: facts.ownBytes, ceilingBytes: ceilingOf(facts.ownBytes) };
}

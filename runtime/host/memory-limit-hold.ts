/**
 * A `max_memory_usage` a restart cannot meet, as a decision. A memory restart
 * cures growth; a host that is over the limit already at its first checks,
 * under the limit it started with, would come back over it after a restart,
 * and restart again every few seconds, each time cutting its runs off (and,
 * under systemd without the supervisor, failing the unit once its start limit
 * is hit). Such a host holds instead: it logs the figures once and holds its
 * own share to a ceiling of 1.5 × what it occupies then, so growth is still
 * cured, until `max_memory_usage` changes. A limit lowered by a reload is
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
  /** Its own share when the hold began. */
  ownBytes: number;
}

export interface HoldFacts {
  /** The host's own share at this check (RSS less its runs'). */
  ownBytes: number;
  /** max_memory_usage now, and when the host started. */
  limitBytes: number;
  limitAtStartBytes: number;
  /** Since the memory watch began (the host's start), and between checks. */
  uptimeMs: number;
  intervalMs: number;
}

/** For a check that found the host's share over its limit: a hold instead of a restart, or null (restart). */
export function holdInsteadOfRestart(facts: HoldFacts): LimitHold | null {
  // A long interval: the first check is the one that counts as "right after the start".
  const settling = facts.uptimeMs <= Math.max(SETTLE_MS, 1.5 * facts.intervalMs);
  if (!settling || facts.limitBytes !== facts.limitAtStartBytes) return null;
  return { limitBytes: facts.limitBytes, ownBytes: facts.ownBytes, ceilingBytes: Math.max(facts.limitBytes, Math.ceil(facts.ownBytes * HOLD_FACTOR)) };
}

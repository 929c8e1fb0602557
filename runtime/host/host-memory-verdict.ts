/**
 * The host's memory check, as a decision (issue 11.2). `max_memory_usage`
 * limits the host's own memory: the process's RSS less what its runs occupy
 * (their heaps and Buffers, as each reports), since each run is held to its own
 * `memory_limit` already, and less what its idle pooled workers' last runs left
 * them occupying (a busy pool of 17 workers passed 500 MB between boundaries
 * and restarted the host every ~20 s at 100 runs a second). A run within its
 * limit therefore never costs a restart. Only when the host's own share is
 * over the limit does it act:
 *
 * - runs that have not reported for a while (a thread busy in a synchronous
 *   loop) are what the host cannot see: whatever they hold counts as the
 *   host's own, so they are stopped first, with the figures;
 * - runs late with their report may be falling silent: the next check decides;
 * - with runs in flight, the host's share must stay over for OVER_FOR_MS before
 *   it restarts: a run that allocates and then loops reported last just before
 *   its allocation, so for up to SILENT_AFTER_MS its memory looks like the
 *   host's (one check in that window restarted the host instead of stopping it);
 * - otherwise the growth is the host's: it restarts.
 */
import { mb, occupiedBytes, type RunMemoryEntry } from "../run/run-memory-book.ts";

/** A run silent this long is busy in a synchronous loop (it reports every 100 ms). */
export const SILENT_AFTER_MS = 2000;

export interface HostMemoryFigures {
  rssBytes: number;
  /** What the runs that report occupy. */
  runsBytes: number;
  /** RSS less the runs: the host's own share, silent runs' memory included. */
  ownBytes: number;
  limitBytes: number;
}

/** A run this late with its report may be falling silent: no restart is decided until it is clear. */
export const LATE_AFTER_MS = 500;

/** How long the host's own share stays over, with runs in flight, before a restart: a silent run is told apart by then. */
export const OVER_FOR_MS = SILENT_AFTER_MS + LATE_AFTER_MS;

export type HostMemoryVerdict =
  | { kind: "ok"; figures: HostMemoryFigures }
  /** Over, but a run is late with its report: the next check decides (it reports again, or it is silent). */
  | { kind: "wait"; figures: HostMemoryFigures }
  | { kind: "stop-silent"; figures: HostMemoryFigures; runs: Array<{ run: RunMemoryEntry; reason: string }> }
  | { kind: "restart"; figures: HostMemoryFigures; reason: string };

/**
 * `overSince`: when the checks began to find the host's share over (this check's `now` when it is the first).
 * `limitLabel`: what the limit is, in messages (a held ceiling, memory-limit-hold.ts, is not max_memory_usage).
 */
export function hostMemoryVerdict(
  rssBytes: number,
  entries: readonly RunMemoryEntry[],
  limitBytes: number,
  now: number,
  overSince = now,
  limitLabel = `max_memory_usage (${mb(limitBytes)} MB)`,
): HostMemoryVerdict {
  const silentFor = (run: RunMemoryEntry) => now - (run.last?.at ?? run.since);
  const reporting = entries.filter((run) => run.last && (run.idle || silentFor(run) < SILENT_AFTER_MS));
  // Idle pooled workers count with the runs, but only runs can be silent.
  const runs = entries.filter((run) => !run.idle);
  const runsBytes = reporting.reduce((sum, run) => sum + occupiedBytes(run.last!), 0);
  const figures: HostMemoryFigures = { rssBytes, runsBytes, ownBytes: Math.max(0, rssBytes - runsBytes), limitBytes };
  if (figures.ownBytes <= limitBytes) return { kind: "ok", figures };
  const over = `the host's memory was ${mb(rssBytes)} MB, ${mb(figures.ownBytes)} MB of it not its runs' (they reported ${mb(runsBytes)} MB), over ${limitLabel}`;
  const silent = runs.filter((run) => silentFor(run) >= SILENT_AFTER_MS);
  if (silent.length > 0) {
    return {
      kind: "stop-silent",
      figures,
      runs: silent.map((run) => ({
        run,
        reason:
          `stopped by the host's memory check: ${over}, and this run had not reported its memory for ` +
          `${Math.round(silentFor(run) / 1000)} s (its thread is busy in a synchronous loop), so it may hold the difference`,
      })),
    };
  }
  if (runs.some((run) => silentFor(run) >= LATE_AFTER_MS)) return { kind: "wait", figures };
  if (runs.length > 0 && now - overSince < OVER_FOR_MS) return { kind: "wait", figures };
  return { kind: "restart", figures, reason: `memory restart: ${over}` };
}

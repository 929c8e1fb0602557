/**
 * Fresh contexts made ahead, while a `context` worker is idle. Creating one
 * is most of what a warm run costs the worker (vm.createContext and the
 * realm's setup: ~0.6 ms of CPU, measured), so a worker whose bursts of runs
 * come every few seconds keeps as many ready as its last burst took (at most
 * MAX_STOCK): on a boundary where many runs are due, each of them then costs
 * the worker only its load and its own code. A context made ahead is ~160 KB
 * of heap; a worker whose bursts are rarer keeps at most RARE_STOCK.
 */
import { RunRealm } from "./run-realm.ts";

/** Contexts kept ready at most (~2.5 MB of heap). */
export const MAX_STOCK = 16;
/**
 * Bursts further apart than this keep at most RARE_STOCK ready: a stock left over from a
 * burst once a minute would sit in an idle worker for the minute, for
 * ~0.6 ms saved a run; within a burst, contexts made in the gaps between its runs are a pure gain.
 */
export const FREQUENT_BURSTS_MS = 10_000;
export const RARE_STOCK = 4;
/** Runs this close together (ms from one's end to the next's load) belong to one burst. */
const BURST_GAP_MS = 50;
/** How long after a run ends the stock is made up (a boundary's other workers need the cores first). */
const FILL_AFTER_MS = 20;

export class RealmStock {
  private readonly ready: RunRealm[] = [];
  /** Runs of the last burst (capped): how many contexts to keep ready. */
  private target = 1;
  private inBurst = 0;
  private burstBegan = -Infinity;
  /** This burst began within FREQUENT_BURSTS_MS of the one before. */
  private frequent = false;
  private lastEnd = -Infinity;
  private filling = false;

  constructor(
    private readonly apiScript: string,
    /** Whether the worker is free to make one now (no run is loaded or running). */
    private readonly idle: () => boolean,
  ) {}

  /** A fresh context for a run that is loading now. */
  take(now = performance.now()): RunRealm {
    if (now - this.lastEnd > BURST_GAP_MS) {
      // A new burst: the one before it sets how many to keep (it may have been smaller than the one before).
      this.frequent = now - this.burstBegan < FREQUENT_BURSTS_MS;
      this.burstBegan = now;
      this.target = this.frequent && this.inBurst > 0 ? Math.min(MAX_STOCK, this.inBurst) : 1;
      this.inBurst = 0;
    }
    this.inBurst++;
    this.target = Math.max(this.target, Math.min(this.frequent ? MAX_STOCK : RARE_STOCK, this.inBurst));
    return this.ready.pop() ?? new RunRealm("taskhost:run", this.apiScript);
  }

  /** A run ended: the stock is made up again, one context a turn, while the worker stays idle. */
  ranOut(now = performance.now()): void {
    this.lastEnd = now;
    this.fill();
  }

  /** Contexts ready now (tests). */
  get size(): number {
    return this.ready.length;
  }

  fill(): void {
    if (this.filling) return;
    this.filling = true;
    const step = () => {
      if (!this.idle() || this.ready.length >= this.target) {
        this.filling = false;
        return;
      }
      this.ready.push(new RunRealm("taskhost:run", this.apiScript));
      setImmediate(step);
    };
    // Not at once: the other runs of the boundary this one was part of start first.
    setTimeout(step, FILL_AFTER_MS);
  }
}

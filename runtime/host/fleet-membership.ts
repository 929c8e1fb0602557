/**
 * This host's membership of a fleet on a shared ledger (issue 14): it joins,
 * renews its lease by a heartbeat, and on each beat takes over the work of
 * hosts whose lease lapsed (their runs in flight recorded `interrupted`, their
 * unstarted claims handed back). Scheduling itself needs nothing from here:
 * every host races for every occurrence with a compare-and-set, so a dead
 * host's schedules go to the survivors at their next occurrence. What the
 * host does with the events:
 *
 * - `takeover`: re-read the schedules in `handedBack` (their next run moved back);
 * - `lost`: this host was declared dead while it was frozen or cut off: every
 *   run it holds is already `interrupted` or released in the ledger, so stop
 *   them and forget its claims (their start fails with ERR_CLAIM_LOST anyway).
 *   It has re-joined by then;
 * - `schedules`: schedules another host changed since the last beat (claimed an
 *   occurrence, paused, resumed, reset, deployed another version): the host
 *   re-arms each from its row, so a schedule resumed on host A is armed on B too
 *   and survives A's death;
 * - `skew`: its clock is more than `skewWarnMs` off the database's;
 * - `beat`: a beat went through (the host may look at the fleet: runs in flight elsewhere);
 * - `error`: a beat failed (database unreachable): logged, the beat goes on.
 */
import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import os from "node:os";
import { isCode } from "../errors.ts";
import type { FleetLedger, FleetRecovery, ScheduleState } from "../store/fleet-ledger.ts";

/**
 * A host id that stays the same across restarts of the same host (machine, project, config
 * file), so a restarted host recovers what its previous life left at once instead of after
 * the lease; two hosts of one project on one machine (different configs) differ.
 */
export function stableHostId(projectRoot: string, configPath: string, hostname = os.hostname()): string {
  const digest = createHash("sha256").update(`${projectRoot}\0${configPath}`).digest("hex").slice(0, 8);
  return `${hostname}-${digest}`;
}

export interface FleetMembershipOptions {
  ledger: FleetLedger;
  /** This host's id in the fleet. Stable across restarts (e.g. `<hostname>:<project>`) lets a restart recover its own runs at once. */
  hostId: string;
  /** Runs in flight on this host now, reported with each beat. */
  running: () => number;
  /** Between beats (ms). Default a quarter of the lease: three beats may be lost before it lapses. */
  beatIntervalMs?: number;
  /** Report skew above this (ms). Default 1000. */
  skewWarnMs?: number;
  hostname?: string;
  pid?: number;
}

export interface FleetMembershipEvents {
  /** A beat renewed the lease (after the takeover and schedules of that beat). */
  beat: [];
  takeover: [recovery: FleetRecovery];
  lost: [];
  schedules: [changed: ScheduleState[]];
  skew: [skewMs: number];
  error: [error: unknown];
}

export interface FleetMembershipState {
  hostId: string;
  /** Last measured database clock minus ours (ms). */
  skewMs: number;
  /** Our clock at the last successful beat (0: none yet). */
  lastBeatAt: number;
}

export class FleetMembership extends EventEmitter<FleetMembershipEvents> {
  readonly hostId: string;
  readonly #ledger: FleetLedger;
  readonly #running: () => number;
  readonly #intervalMs: number;
  readonly #skewWarnMs: number;
  readonly #identity: { hostname: string; pid: number; startedAt: number };
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;
  #closed: Promise<void> | undefined;
  #skewMs = 0;
  #lastBeatAt = 0;
  /** Since when this host's beats have gone through without a failure (null: the last one failed). */
  #connectedSince: number | null = null;
  /** Each schedule as the last beat saw it, to tell what changed since. */
  #seen = new Map<string, string>();

  constructor(options: FleetMembershipOptions) {
    super();
    this.hostId = options.hostId;
    this.#ledger = options.ledger;
    this.#running = options.running;
    this.#intervalMs = options.beatIntervalMs ?? Math.max(250, Math.floor(options.ledger.leaseMs / 4));
    this.#skewWarnMs = options.skewWarnMs ?? 1000;
    this.#identity = { hostname: options.hostname ?? os.hostname(), pid: options.pid ?? process.pid, startedAt: Date.now() };
    // An unhandled 'error' event would kill the host: keep a listener, callers add theirs.
    this.on("error", () => undefined);
  }

  /** Joins the fleet and recovers what this host's earlier life and any dead host left. */
  async start(): Promise<FleetRecovery> {
    await this.#join();
    const recovery = await this.#ledger.recoverFleet(this.hostId, { judgePeers: this.#mayJudgePeers() });
    this.#changedSchedules(await this.#ledger.scheduleStates());
    this.#schedule();
    return recovery;
  }

  state(): FleetMembershipState {
    return { hostId: this.hostId, skewMs: this.#skewMs, lastBeatAt: this.#lastBeatAt };
  }

  /** One beat now (also what the timer does): renew, then take over whoever died. */
  beat(): Promise<void> {
    this.#beating ??= this.#beatOnce().finally(() => {
      this.#beating = undefined;
    });
    return this.#beating;
  }

  async #beatOnce(): Promise<void> {
    try {
      const previousBeatAt = this.#lastBeatAt;
      const { skewMs, lost } = await this.#ledger.beat(this.hostId, this.#running());
      // A beat through after a gap longer than the lease (a query that hung on a silent network): connected from now.
      if (Date.now() - previousBeatAt > this.#ledger.leaseMs) this.#connectedSince = null;
      if (lost) {
        await this.#join();
        this.emit("lost");
      } else {
        this.#skewMs = skewMs;
        this.#lastBeatAt = Date.now();
        if (Math.abs(skewMs) > this.#skewWarnMs) this.emit("skew", skewMs);
      }
      this.#connectedSince ??= Date.now();
      const recovery = await this.#ledger.recoverFleet(this.hostId, { judgePeers: this.#mayJudgePeers() });
      const changed = recovery.deadHosts.length + recovery.interrupted.length + recovery.handedBack.length + recovery.skipped.length;
      if (changed > 0) this.emit("takeover", recovery);
      const schedules = this.#changedSchedules(await this.#ledger.scheduleStates());
      if (schedules.length > 0) this.emit("schedules", schedules);
      this.emit("beat");
    } catch (error) {
      // Only a database away makes this host's view of the others stale (a query's own error does not).
      if (isCode(error, "ERR_DB_UNREACHABLE")) this.#connectedSince = null;
      this.emit("error", error);
    }
  }

  /**
   * Whether this host may declare others dead: only once its own beats have gone through for a
   * lease. After a database outage every host's heartbeat is stale; the first host back must
   * give the others a lease to beat, or it takes their healthy runs for a dead host's.
   */
  #mayJudgePeers(): boolean {
    return this.#connectedSince !== null && Date.now() - this.#connectedSince >= this.#ledger.leaseMs;
  }

  /** The states that differ from the last beat's (a new schedule counts; a dropped one is the catalog's business). */
  #changedSchedules(states: ScheduleState[]): ScheduleState[] {
    const changed: ScheduleState[] = [];
    const seen = new Map<string, string>();
    for (const state of states) {
      const key = `${state.nextRun}|${state.fingerprint}|${state.paused}`;
      seen.set(state.id, key);
      if (this.#seen.get(state.id) !== key) changed.push(state);
    }
    this.#seen = seen;
    return changed;
  }

  async #join(): Promise<void> {
    await this.#ledger.registerHost({ id: this.hostId, ...this.#identity });
    this.#lastBeatAt = Date.now();
    this.#connectedSince ??= this.#lastBeatAt;
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.beat()
        .catch((error: unknown) => this.emit("error", error))
        .finally(() => this.#schedule());
    }, beatDelay(Date.now(), this.#intervalMs));
    this.#timer.unref();
  }

  /** Stops beating and leaves the fleet (a clean stop: nobody needs to wait for the lease). Memoized. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      clearTimeout(this.#timer);
      await this.#beating;
      await this.#ledger.leaveHost(this.hostId).catch((error: unknown) => this.emit("error", error));
    })();
    return this.#closed;
  }
}

/**
 * How long until the next beat: its interval, moved on to the middle of a
 * second when it is a second or longer. Schedules fall on whole seconds, so a
 * beat (three statements, and the re-read of schedules other hosts moved) never
 * competes with a boundary's runs for the cores. At most a second later, which
 * a lease of four beats or more absorbs.
 */
export function beatDelay(now: number, intervalMs: number): number {
  if (intervalMs < 1000) return intervalMs;
  const due = now + intervalMs;
  return Math.ceil((due - 500) / 1000) * 1000 + 500 - now;
}

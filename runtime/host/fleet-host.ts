/**
 * A host's part in its ledger's fleet (issue 14): the one component between
 * FleetMembership (lease, takeover, what other hosts changed) and the
 * scheduler and catalog. start-host.ts makes one and calls it at four points
 * (owner id, join, catalog, close); status asks it for the version warnings.
 *
 * - On a ledger other hosts share (PostgreSQL), the host's id is stable across
 *   restarts (`stableHostId`), so a restart takes its previous life's runs over
 *   at once; the scheduler gets the shared-ledger port (fenced starts, overlap
 *   across hosts), and the membership's events feed it: `schedules` (another
 *   host claimed, paused, resumed, reset, deployed) → re-read them; `lost` (this
 *   host was taken over while frozen or cut off) → stop its runs, let its claims
 *   go, re-read everything. What the catalog loaded is reported, so `status`
 *   names the hosts that disagree on a task's version.
 * - On a ledger the host owns alone (sql.js), it does what a single host always
 *   did: id `<hostname>:<pid>`, and the runs a previous life left are recorded
 *   interrupted.
 */
import os from "node:os";
import type { Scheduler } from "../scheduler/scheduler.ts";
import type { HostLog, SharedLedger } from "../scheduler/scheduler-types.ts";
import { isFleetLedger, type FleetLedger } from "../store/fleet-ledger.ts";
import type { Ledger } from "../store/ledger.ts";
import { isCode, messageOf } from "../errors.ts";
import { FleetMembership, stableHostId } from "./fleet-membership.ts";
import { fleetStatus } from "./fleet-status.ts";
import type { StatusJson } from "./report-shapes.ts";
import type { TaskCatalog } from "./task-catalog.ts";

/** How often a run waiting for another host's run of its schedule (overlap: queue) looks again. */
const OVERLAP_POLL_MS = 250;
/** A failing heartbeat is logged once, then at most this often while it keeps failing. */
const BEAT_ERROR_EVERY_MS = 30_000;

export interface FleetHostOptions {
  projectRoot: string;
  configPath: string;
  /** The PID users see (the supervisor's). */
  pid: number;
  log: HostLog;
  /** Between heartbeats (ms); default a quarter of the lease. */
  beatIntervalMs?: number;
}

export interface FleetHost {
  /** This host's id in the ledger: its claims, runs and alerts carry it. */
  readonly owner: string;
  /** For the scheduler: set when other hosts write the ledger too. */
  readonly shared: SharedLedger | undefined;
  /** Joins the ledger and takes over what an earlier life (and any dead host) left; resolves with the runs recorded interrupted. */
  join(scheduler: Scheduler): Promise<number>;
  /** Reports what the catalog loaded now and whenever it changes (versions per task, for `status`). */
  watchCatalog(catalog: TaskCatalog): void;
  /** `status` with, per task, a warning when the live hosts disagree on its version. */
  withVersionWarnings(status: StatusJson): Promise<StatusJson>;
  /** Null while the ledger answers (always, alone on sql.js); else since when this host's beats cannot reach it, and why. */
  outage(): LedgerOutage | null;
  /** Leaves the fleet (after the scheduler stopped: its runs are recorded). Memoized. */
  close(): Promise<void>;
}

export interface LedgerOutage {
  since: number;
  /** Heartbeats that failed since. */
  failures: number;
  /** Why (an ERR_DB_UNREACHABLE message, or how long no beat went through). */
  error: string;
}

export function fleetHost(ledger: Ledger, options: FleetHostOptions): FleetHost {
  return isFleetLedger(ledger) ? new SharedLedgerHost(ledger, options) : soloHost(options);
}

function soloHost(options: FleetHostOptions): FleetHost {
  return {
    owner: `${os.hostname()}:${options.pid}`,
    shared: undefined,
    join: (scheduler) => scheduler.recoverUnfinished(),
    watchCatalog: () => undefined,
    withVersionWarnings: async (status) => status,
    outage: () => null,
    close: async () => undefined,
  };
}

class SharedLedgerHost implements FleetHost {
  readonly owner: string;
  readonly shared: SharedLedger;
  #membership: FleetMembership | null = null;
  #catalog: TaskCatalog | null = null;
  #reporting: Promise<void> | null = null;
  #reportAgain = false;
  #beatFailedAt = 0;
  #outage: LedgerOutage | null = null;
  #closed: Promise<void> | undefined;

  constructor(
    private readonly ledger: FleetLedger,
    private readonly options: FleetHostOptions,
  ) {
    this.owner = stableHostId(options.projectRoot, options.configPath);
    const owner = this.owner;
    this.shared = {
      pollMs: OVERLAP_POLL_MS,
      runsElsewhere: async (scheduleId) => (await ledger.runsInFlight(scheduleId)).filter((run) => run.host !== owner).length,
    };
  }

  async join(scheduler: Scheduler): Promise<number> {
    const { log } = this.options;
    const membership = new FleetMembership({
      ledger: this.ledger,
      hostId: this.owner,
      running: () => scheduler.runningCount,
      pid: this.options.pid,
      ...(this.options.beatIntervalMs ? { beatIntervalMs: this.options.beatIntervalMs } : {}),
    });
    this.#membership = membership;
    const failed = (what: string) => (error: unknown) => log.error({ event: "fleet.error", err: error }, `fleet: ${what} failed: ${messageOf(error)}`);
    membership.on("schedules", (changed) => {
      scheduler.changedElsewhere(changed.map((s) => ({ id: s.id, nextRun: s.nextRun, fingerprint: s.fingerprint, paused: s.paused }))).catch(failed("re-reading schedules"));
    });
    membership.on("lost", () => {
      log.warn(
        { event: "fleet.lost", hostId: this.owner },
        `fleet: this host was declared dead (its lease of ${this.ledger.leaseMs / 1000}s lapsed: frozen, or cut off from the database) and its work taken over; ` +
          `stopping its runs and re-joining`,
      );
      scheduler.abandonClaims("this host's lease lapsed and another host took its work over").catch(failed("letting claims go"));
      this.#report();
    });
    membership.on("takeover", (recovery) => {
      for (const dead of recovery.deadHosts) log.warn({ event: "fleet.takeover", deadHost: dead }, `fleet: host ${dead} stopped heart-beating; its work is taken over`);
      if (recovery.interrupted.length > 0 || recovery.skipped.length > 0) {
        log.warn(
          { event: "fleet.recovered", interrupted: recovery.interrupted.map((r) => r.id), skipped: recovery.skipped.map((r) => r.id), handedBack: recovery.handedBack },
          `fleet: ${recovery.interrupted.length} run(s) of dead hosts recorded interrupted, ${recovery.skipped.length} unstarted claim(s) recorded skipped, ` +
            `${recovery.handedBack.length} schedule(s) handed back`,
        );
      }
    });
    membership.on("beat", () => {
      if (this.#outage) log.info({ event: "fleet.database_back", downMs: Date.now() - this.#outage.since }, `fleet: the database answers again (away ${Math.round((Date.now() - this.#outage.since) / 1000)} s)`);
      this.#outage = null;
      // overlap: replace across hosts: a newer occurrence started elsewhere stops this host's older run.
      if (scheduler.inFlight.runningWith("replace").length === 0) return;
      this.ledger
        .runsInFlight()
        .then((runs) => scheduler.inFlight.replacedElsewhere(runs.filter((r) => r.host !== this.owner)))
        .catch(failed("reading the fleet's runs in flight"));
    });
    membership.on("skew", (skewMs) =>
      log.warn({ event: "fleet.skew", skewMs }, `fleet: this host's clock is ${Math.abs(skewMs)} ms ${skewMs > 0 ? "behind" : "ahead of"} the database's; keep it within a second (NTP)`),
    );
    membership.on("error", (error) => {
      const now = Date.now();
      // A database away (not a query's own error): what outage() reports until a beat goes through.
      if (isCode(error, "ERR_DB_UNREACHABLE")) {
        this.#outage = { since: this.#outage?.since ?? now, failures: (this.#outage?.failures ?? 0) + 1, error: messageOf(error) };
      }
      if (now - this.#beatFailedAt < BEAT_ERROR_EVERY_MS) return;
      this.#beatFailedAt = now;
      log.warn({ event: "fleet.beat_failed", err: error }, `fleet: heartbeat failed (${messageOf(error)}); retrying every beat`);
    });
    const recovery = await membership.start();
    log.info(
      { event: "fleet.joined", hostId: this.owner, leaseMs: this.ledger.leaseMs, deadHosts: recovery.deadHosts },
      `fleet: joined as ${this.owner} (lease ${this.ledger.leaseMs / 1000}s)`,
    );
    return recovery.interrupted.length;
  }

  outage(): LedgerOutage | null {
    if (this.#outage) return this.#outage;
    // A network that drops packets fails nothing for a while: a beat that has not gone through for a lease says it.
    const lastBeatAt = this.#membership?.state().lastBeatAt ?? 0;
    if (lastBeatAt === 0 || Date.now() - lastBeatAt <= this.ledger.leaseMs) return null;
    return { since: lastBeatAt, failures: 0, error: `no heartbeat has gone through for ${Math.round((Date.now() - lastBeatAt) / 1000)} s: the database does not answer` };
  }

  watchCatalog(catalog: TaskCatalog): void {
    this.#catalog = catalog;
    catalog.on("entry.changed", () => this.#report());
    catalog.on("entry.removed", () => this.#report());
    this.#report();
  }

  /** What the catalog runs now, {taskId: {scheduleId: fingerprint}}; reports coalesce. */
  #report(): void {
    if (!this.#catalog || this.#closed) return;
    if (this.#reporting) {
      this.#reportAgain = true;
      return;
    }
    const loaded: Record<string, Record<string, string>> = {};
    for (const entry of this.#catalog.entries.values()) {
      if (entry.loaded) loaded[entry.id] = Object.fromEntries(entry.loaded.schedules.map((s) => [s.id, s.fingerprint]));
    }
    this.#reporting = this.ledger
      .reportLoaded(this.owner, loaded)
      .catch((error: unknown) => this.options.log.warn({ event: "fleet.error", err: error }, `fleet: reporting the loaded tasks failed: ${messageOf(error)}`))
      .finally(() => {
        this.#reporting = null;
        if (this.#reportAgain) {
          this.#reportAgain = false;
          this.#report();
        }
      });
  }

  async withVersionWarnings(status: StatusJson): Promise<StatusJson> {
    // The database away: the status says so (host.database), and has no fleet view to add.
    if (status.host.database?.state === "unreachable") return status;
    const { versionWarnings } = await fleetStatus(this.ledger);
    if (versionWarnings.size === 0) return status;
    const tasks = status.tasks.map((task) => {
      const warning = versionWarnings.get(task.id);
      return warning ? { ...task, warnings: [...task.warnings, warning] } : task;
    });
    return { ...status, tasks };
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#reporting;
      await this.#membership?.close();
    })();
    return this.#closed;
  }
}

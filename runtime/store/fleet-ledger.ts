/**
 * What a ledger shared by several hosts adds to `Ledger` (issue 14): leases
 * with their verdict, which task versions each host loaded, and one recovery
 * step that takes a dead host's work over. Only the PostgreSQL ledger is one;
 * the fleet component (runtime/host/fleet-*.ts) runs only on it.
 */
import type { HostRow, Ledger, RunRow } from "./ledger.ts";

export interface LeaseBeat {
  /** The database's clock minus this host's (ms); positive: ours is behind. */
  skewMs: number;
  /**
   * The lease had lapsed, or another host already declared this one dead and
   * took its work over: its runs in flight are `interrupted` in the ledger and
   * its claims not started are gone. The host re-registers (`registerHost`).
   */
  lost: boolean;
}

export interface FleetRecovery {
  /** Hosts found dead (lease lapsed) and removed. */
  deadHosts: string[];
  /** Runs that were in flight on a dead host (or an earlier life of this one), now `interrupted`. */
  interrupted: RunRow[];
  /** Schedules whose next run went back to an occurrence a dead host claimed and never started. */
  handedBack: string[];
  /** Claims never started that could not be handed back (later occurrences were claimed), now `skipped`. */
  skipped: RunRow[];
}

/** A schedule the hosts do not agree on: the ledger's fingerprint and what each live host loaded. */
export interface FleetDisagreement {
  taskId: string;
  scheduleId: string;
  ledger: string | null;
  hosts: Array<{ hostId: string; fingerprint: string | null }>;
}

/** What each host compares between beats to notice what other hosts changed (claims, pause, reset, deploy). */
export interface ScheduleState {
  id: string;
  taskId: string;
  nextRun: number | null;
  fingerprint: string;
  paused: boolean;
}

/** A run in flight somewhere in the fleet. */
export interface RunInFlight {
  runId: number;
  scheduleId: string;
  host: string | null;
  scheduledFor: number | null;
  startedAt: number;
}

export interface FleetLedger extends Ledger {
  readonly kind: "postgres";
  /** This ledger's lease length (ms): a host silent for longer is dead. */
  readonly leaseMs: number;
  /** Renews the lease and says whether it had been lost. `Ledger.heartbeat` is this without the verdict. */
  beat(hostId: string, running: number): Promise<LeaseBeat>;
  /**
   * Takes over the work of every dead host (and of `ownerId`'s earlier lives). Safe from several
   * hosts at once. `judgePeers: false`: declares no host dead (only work of hosts already dead, and
   * of earlier lives, is taken over): the caller has not been connected long enough to judge.
   */
  recoverFleet(ownerId: string, options?: { judgePeers?: boolean }): Promise<FleetRecovery>;
  /** What this host loaded, {taskId: {scheduleId: fingerprint}}: `status` compares the hosts. */
  reportLoaded(hostId: string, loaded: Record<string, Record<string, string>>): Promise<void>;
  /** Schedules whose fingerprint differs between the ledger and a live host that loaded the task. */
  disagreements(): Promise<FleetDisagreement[]>;
  /** Hosts with their lease verdict, skew and load, for `status`. */
  listHosts(): Promise<HostRow[]>;
  /** Every schedule's next run, version and pause, in one query. */
  scheduleStates(): Promise<ScheduleState[]>;
  /** Runs that started and have not ended, on any live host (overlap is fleet-wide). */
  runsInFlight(scheduleId?: string): Promise<RunInFlight[]>;
  /** Per live host, the database's clock minus the host's, as its last beat measured it (ms). */
  hostSkews(): Promise<Map<string, number>>;
}

export function isFleetLedger(ledger: Ledger): ledger is FleetLedger {
  return ledger.kind === "postgres" && typeof (ledger as Partial<FleetLedger>).recoverFleet === "function";
}

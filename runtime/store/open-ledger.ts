/**
 * The one place that picks the ledger's backend from `config.database`: the
 * sql.js file at `database.path` (one host), or with `database.url` the
 * PostgreSQL ledger a fleet of hosts shares (issue 14; loaded only then).
 */
import type { Ledger } from "./ledger.ts";
import { DEFAULT_LEASE_MS, pgLedgerOptionsOf } from "./pg-options.ts";
import { openSqlJsLedger } from "./sqljs-store.ts";
import type { LockHolder } from "./writer-lock.ts";

/** The part of `config.database` that says where the ledger is. */
export interface LedgerLocation {
  /** Absolute path of the sql.js ledger file. */
  readonly path: string;
  /** postgres://…: the PostgreSQL ledger instead of the file. */
  readonly url?: string | null;
  /** Seconds a host of the fleet stays alive without a heartbeat (PostgreSQL only). */
  readonly leaseSec?: number;
}

export interface OpenLedgerOptions {
  /** Things the operator should know that are not errors (started from the backup, a torn journal end, a database still unreachable: ERR_DB_UNREACHABLE). */
  onWarning?: (message: string, code?: string) => void;
  /** How long to wait for another process that is still writing the ledger (a host finishing its stop). Default 0. */
  lockWaitMs?: number;
  /** Called once when opening starts to wait for that process. */
  onLockWait?: (holder: LockHolder | null) => void;
  /** PostgreSQL: retry an unreachable database until it answers (a host starting) instead of failing (a command). */
  waitForDatabase?: boolean;
  /** Stops that waiting. */
  signal?: AbortSignal;
}

export async function openLedger(database: LedgerLocation, options: OpenLedgerOptions = {}): Promise<Ledger> {
  const { onWarning, lockWaitMs, onLockWait, waitForDatabase = false, signal } = options;
  const pg = pgLedgerOptionsOf({ url: database.url ?? null, leaseSec: database.leaseSec ?? DEFAULT_LEASE_MS / 1000 }, { onWarning, signal });
  if (pg) return (await import("./pg-ledger.ts")).openPgLedger({ ...pg, waitForDatabase });
  return openSqlJsLedger({ path: database.path, onWarning, lockWaitMs, onLockWait });
}

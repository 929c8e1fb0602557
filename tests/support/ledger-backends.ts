/**
 * The ledger backends the contract suite (tests/ledger-contract.test.ts) runs
 * against. A backend makes fresh, empty ledgers: sql.js in a temp folder, and
 * PostgreSQL in a new database of one throw-away cluster (scripts/pg-start.sh)
 * where its server programs are installed (always in CI).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Ledger } from "../../runtime/store/ledger.ts";
import { openLedger, type LedgerLocation } from "../../runtime/store/open-ledger.ts";
import { skipPostgres, startPostgres, type TestPostgres } from "./pg-cluster.ts";

export interface LedgerUnderTest {
  /** What `openLedger` takes to open this ledger (also in a child process, as JSON). */
  location: LedgerLocation;
  /** Opens the ledger (again). */
  open(): Promise<Ledger>;
  /** Opens another connection as a second host would (sql.js: one writer per file, so none). */
  peer?: () => Promise<Ledger>;
  /** Removes everything it made. */
  dispose(): Promise<void>;
}

export interface LedgerBackend {
  name: string;
  /**
   * Several hosts share it (PostgreSQL): recovery takes over only hosts that are gone (a live
   * host's runs are its own), and hands their unstarted claims back instead of interrupting them.
   */
  fleet?: boolean;
  create(): Promise<LedgerUnderTest>;
  /** Releases what the backend keeps between ledgers (a database server). */
  dispose?(): Promise<void>;
}

export const sqljsBackend: LedgerBackend = {
  name: "sqljs",
  async create() {
    const dir = await mkdtemp(join(tmpdir(), "taskhost-ledger-"));
    const location = { path: join(dir, "data", "scheduler.db") };
    return {
      location,
      open: () => openLedger(location, { onWarning: () => {} }),
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  },
};

let cluster: Promise<TestPostgres> | undefined;

export const postgresBackend: LedgerBackend = {
  name: "postgres",
  fleet: true,
  async create() {
    cluster ??= startPostgres();
    const location = { path: "/nonexistent/unused.db", url: await (await cluster).createDatabase(), leaseSec: 6 };
    const open = () => openLedger(location, { onWarning: () => {} });
    return { location, open, peer: open, dispose: async () => {} };
  },
  async dispose() {
    const started = cluster;
    cluster = undefined;
    await (await started)?.stop();
  },
};

export const ledgerBackends: LedgerBackend[] = skipPostgres ? [sqljsBackend] : [sqljsBackend, postgresBackend];

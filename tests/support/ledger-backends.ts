/**
 * The ledger backends the contract suite (tests/ledger-contract.test.ts) runs
 * against. A backend makes fresh, empty ledgers; the PostgreSQL helper adds
 * its own factory to `ledgerBackends`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Ledger } from "../../runtime/store/ledger.ts";
import { openLedger, type LedgerLocation } from "../../runtime/store/open-ledger.ts";

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
  create(): Promise<LedgerUnderTest>;
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

export const ledgerBackends: LedgerBackend[] = [sqljsBackend];

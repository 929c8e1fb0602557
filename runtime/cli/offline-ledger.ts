import { existsSync } from "node:fs";
import path from "node:path";
import { taskhostError } from "../errors.ts";
import type { Ledger, TaskRow } from "../store/ledger.ts";
import { openLedger } from "../store/open-ledger.ts";
import { acquireHostLock, runningHostPid } from "../host/host-lock.ts";
import type { CliContext } from "./cli-context.ts";

/** How long an offline command waits for a process still writing the ledger. */
const OFFLINE_LOCK_WAIT_MS = 5000;

/** A command that only looks has nothing to look at before a host ran once. */
export function assertLedgerExists(ctx: CliContext): void {
  // A PostgreSQL ledger is the fleet's, not this folder's: there is nothing to find on disk.
  if (!ctx.config.database.url && !existsSync(ctx.config.database.path)) {
    throw taskhostError(
      "ERR_NO_LEDGER",
      `taskhost: no host is running and there is no ledger yet (${path.relative(ctx.projectRoot, ctx.config.database.path)}); start one with \`npm start\``,
    );
  }
}

/**
 * Runs `fn` against the ledger when no host is running. Commands that write
 * take the host lock first, so a host cannot start underneath them.
 */
export async function withLedger<T>(ctx: CliContext, write: boolean, fn: (ledger: Ledger) => Promise<T>): Promise<T> {
  if (!write) {
    // Opening the ledger replays and compacts its journal: never while a host that owns it
    // is alive (starting up, or between restarts) even if it does not answer yet.
    const holder = await runningHostPid(ctx.files.pidFile);
    if (holder != null) {
      throw taskhostError(
        "ERR_HOST_BUSY",
        `taskhost: the host (pid ${holder}) owns the ledger but is not answering yet (starting or restarting); try again in a moment`,
      );
    }
  }
  const lock = write ? await acquireHostLock(ctx.files.pidFile) : null;
  try {
    if (!write) assertLedgerExists(ctx);
    // Not long: a command would rather say who holds it than hang.
    const ledger = await openLedger(ctx.config.database, { lockWaitMs: OFFLINE_LOCK_WAIT_MS });
    try {
      return await fn(ledger);
    } finally {
      await ledger.close();
    }
  } finally {
    await lock?.release();
  }
}

/** The ledger's row of a task (also one whose file is gone); throws naming it when the ledger has none. */
export async function ledgerTask(ledger: Ledger, taskId: string): Promise<TaskRow> {
  const row = await ledger.getTask(taskId);
  if (!row) throw new Error(`taskhost: no task "${taskId}" in the ledger (see \`taskhost status\`)`);
  return row;
}

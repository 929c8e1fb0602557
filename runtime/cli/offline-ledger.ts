import { existsSync } from "node:fs";
import path from "node:path";
import { openSqlJsStore } from "../store/sqljs-store.ts";
import type { Store } from "../store/store.ts";
import { acquireHostLock, runningHostPid } from "../host/host-lock.ts";
import type { CliContext } from "./cli-context.ts";

/**
 * Runs `fn` against the ledger when no host is running. Commands that write
 * take the host lock first, so a host cannot start underneath them.
 */
export async function withLedger<T>(ctx: CliContext, write: boolean, fn: (store: Store) => Promise<T>): Promise<T> {
  if (!write) {
    // Opening the ledger replays and compacts its journal: never while a host that owns it
    // is alive (starting up, or between restarts) even if it does not answer yet.
    const holder = await runningHostPid(ctx.files.pidFile);
    if (holder != null) {
      throw Object.assign(
        new Error(`taskhost: the host (pid ${holder}) owns the ledger but is not answering yet (starting or restarting); try again in a moment`),
        { code: "ERR_HOST_BUSY" },
      );
    }
  }
  const lock = write ? await acquireHostLock(ctx.files.pidFile) : null;
  try {
    if (!write && !existsSync(ctx.config.database.path)) {
      throw Object.assign(
        new Error(`taskhost: no host is running and there is no ledger yet (${path.relative(ctx.projectRoot, ctx.config.database.path)}); start one with \`npm start\``),
        { code: "ERR_NO_LEDGER" },
      );
    }
    const store = await openSqlJsStore({ path: ctx.config.database.path });
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  } finally {
    await lock?.release();
  }
}

/**
 * `taskhost ledger copy --to postgres://…`: this project's sql.js ledger into an
 * empty PostgreSQL database (contract §10). The host must be stopped: the copy
 * takes the host lock, so none starts and writes runs the copy would miss.
 */
import { messageOf } from "../errors.ts";
import { copyLedgerToPg } from "../store/pg-copy-ledger.ts";
import { isPostgresUrl, redactUrl } from "../store/pg-options.ts";
import type { CliContext } from "./cli-context.ts";
import { withLedger } from "./offline-ledger.ts";

export async function ledgerCopyCommand(ctx: CliContext, to: string): Promise<number> {
  if (!isPostgresUrl(to)) {
    process.stderr.write(`taskhost ledger copy: --to must be a postgres://user:password@host:port/database URL (got ${redactUrl(to)}).\n`);
    return 2;
  }
  try {
    // The source is always this project's sql.js file, even when database.url already points at the fleet.
    const fileCtx = { ...ctx, config: { ...ctx.config, database: { ...ctx.config.database, url: null } } };
    const counts = await withLedger(fileCtx, true, (ledger) => copyLedgerToPg(ledger, to));
    process.stdout.write(
      `copied ${counts.tasks} tasks, ${counts.schedules} schedules (with their next runs), ${counts.runs} runs, ` +
        `${counts.alerts} alerts and ${counts.state} state keys to ${redactUrl(to)}.\n` +
        `Next: set database.url (or TASKHOST_DATABASE_URL) on every host, then start them.\n`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`taskhost ledger copy: ${messageOf(error)}\n`);
    return 1;
  }
}

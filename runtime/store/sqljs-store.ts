/**
 * Opening the ledger on sql.js (see sqljs-database.ts for how it is kept on
 * disk, sqljs-ledger.ts for what it offers).
 */
import { DurableDatabase } from "./sqljs-database.ts";
import { SqlJsLedger } from "./sqljs-ledger.ts";
import { resolveSqlJsStoreOptions, type SqlJsStoreOptions } from "./store-options.ts";

export {
  ERR_DB_CORRUPT,
  ERR_DB_READ,
  ERR_DB_VERSION,
  ERR_DB_WRITE,
  ERR_STATE_VALUE,
  ERR_STORE_ARGUMENT,
  ERR_STORE_CLOSED,
  ERR_STORE_OPTIONS,
} from "./store-errors.ts";
export { resolveSqlJsStoreOptions, type ResolvedSqlJsStoreOptions, type SqlJsStoreOptions } from "./store-options.ts";
export { SqlJsLedger } from "./sqljs-ledger.ts";

/** Opens (creating, migrating, replaying) the ledger file at `options.path`. */
export async function openSqlJsLedger(options: SqlJsStoreOptions): Promise<SqlJsLedger> {
  return new SqlJsLedger(await DurableDatabase.open(resolveSqlJsStoreOptions(options)));
}

/** The same ledger, under the name the old `Store` callers and tests use. */
export const openSqlJsStore = openSqlJsLedger;

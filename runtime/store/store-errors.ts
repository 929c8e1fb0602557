/** Error codes of the sql.js store; every error it throws carries one as `code`. */

/** The file (and its backup, if any) is not a usable SQLite database. */
export { ERR_DB_CORRUPT, ERR_DB_VERSION, ERR_DB_READ, ERR_DB_WRITE, ERR_STORE_CLOSED, ERR_STORE_OPTIONS, ERR_STORE_ARGUMENT, ERR_STATE_VALUE } from "../errors.ts";
/** The file was written by a newer taskhost (schema version we do not know). */
/** The database file exists but cannot be read (permissions, a directory, ...). */
/** Writing the snapshot or the journal to disk failed (disk full, permissions, ...). */
/** A call came after `close()`. */
/** `openSqlJsStore` options are invalid. */
/** A method argument is invalid (limit, keep, ...). */
/** A task state value cannot be stored as JSON. */

export function storeError(code: string, message: string, cause?: unknown): Error & { code: string } {
  const error = new Error(`taskhost store: ${message}`, cause === undefined ? undefined : { cause }) as Error & {
    code: string;
  };
  error.code = code;
  return error;
}

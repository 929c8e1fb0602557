/** Error codes of the sql.js store; every error it throws carries one as `code`. */

/** The file (and its backup, if any) is not a usable SQLite database. */
export const ERR_DB_CORRUPT = "ERR_DB_CORRUPT";
/** The file was written by a newer taskhost (schema version we do not know). */
export const ERR_DB_VERSION = "ERR_DB_VERSION";
/** The database file exists but cannot be read (permissions, a directory, ...). */
export const ERR_DB_READ = "ERR_DB_READ";
/** Writing the snapshot or the journal to disk failed (disk full, permissions, ...). */
export const ERR_DB_WRITE = "ERR_DB_WRITE";
/** A call came after `close()`. */
export const ERR_STORE_CLOSED = "ERR_STORE_CLOSED";
/** `openSqlJsStore` options are invalid. */
export const ERR_STORE_OPTIONS = "ERR_STORE_OPTIONS";
/** A method argument is invalid (limit, keep, ...). */
export const ERR_STORE_ARGUMENT = "ERR_STORE_ARGUMENT";
/** A task state value cannot be stored as JSON. */
export const ERR_STATE_VALUE = "ERR_STATE_VALUE";

export function storeError(code: string, message: string, cause?: unknown): Error & { code: string } {
  const error = new Error(`taskhost store: ${message}`, cause === undefined ? undefined : { cause }) as Error & {
    code: string;
  };
  error.code = code;
  return error;
}

import { readFileSync } from "node:fs";
import path from "node:path";
import type { BindParams, Database, SqlJsStatic } from "sql.js";
import { getProjectRoot } from "./project-root.ts";
import { requireHostModule, resolveHostModule } from "./host-modules.ts";
import { writeFileAtomic } from "./atomic-write.ts";
import { cellText, defaultColumns } from "./report-values.ts";

export type { BindParams, Database, SqlJsStatic } from "sql.js";

let sqlJs: Promise<SqlJsStatic> | undefined;

/**
 * sql.js (SQLite compiled to WebAssembly), loaded from taskhost's own
 * installation with its `.wasm` file located next to it. Loaded once per run.
 *
 * @example
 * const SQL = await loadSqlJs();
 * const db = new SQL.Database(); // in memory
 */
export function loadSqlJs(): Promise<SqlJsStatic> {
  sqlJs ??= (async () => {
    const init = requireHostModule<(config?: { wasmBinary?: ArrayBuffer }) => Promise<SqlJsStatic>>("sql.js");
    const wasm = readFileSync(resolveHostModule("sql.js/dist/sql-wasm.wasm"));
    return init({ wasmBinary: wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength) as ArrayBuffer });
  })();
  sqlJs.catch(() => (sqlJs = undefined));
  return sqlJs;
}

/**
 * Opens a SQLite database file (relative to the project root) in memory. A
 * missing file opens an empty database when `create` is true, else throws.
 * Changes stay in memory until {@link saveSqliteDatabase}; call `db.close()` when done.
 *
 * @example
 * const db = await openSqliteDatabase("data/shop.db");
 * try { log.info(queryRows(db, "SELECT count(*) AS n FROM orders")[0]); } finally { db.close(); }
 */
export async function openSqliteDatabase(file: string, options: { create?: boolean } = {}): Promise<Database> {
  const SQL = await loadSqlJs();
  const target = path.resolve(getProjectRoot(), file);
  let bytes: Buffer | undefined;
  try {
    bytes = readFileSync(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT" || !options.create) {
      throw new Error(`openSqliteDatabase: cannot read ${target}: ${(error as Error).message}`);
    }
  }
  return bytes ? new SQL.Database(bytes) : new SQL.Database();
}

/**
 * Writes an open database to its file atomically (see writeFileAtomic).
 *
 * @example
 * db.run("INSERT INTO seen VALUES (?)", [id]);
 * saveSqliteDatabase(db, "data/seen.db");
 */
export function saveSqliteDatabase(db: Database, file: string): void {
  writeFileAtomic(path.resolve(getProjectRoot(), file), db.export());
}

/** One result row: column name to value (numbers, strings, Uint8Array for blobs, null). */
export type Row = Record<string, number | string | Uint8Array | null>;

/**
 * Runs a query with optional parameters and returns its rows as objects.
 *
 * @example
 * const rows = queryRows(db, "SELECT region, sum(amount) AS total FROM sales WHERE day >= ? GROUP BY region", ["2026-01-01"]);
 */
export function queryRows(db: Database, sql: string, params?: BindParams): Row[] {
  const statement = db.prepare(sql);
  try {
    if (params) statement.bind(params);
    const rows: Row[] = [];
    while (statement.step()) rows.push(statement.getAsObject() as Row);
    return rows;
  } finally {
    statement.free();
  }
}

/**
 * Rows as CSV (RFC 4180: comma-separated, quoted where needed, CRLF line ends),
 * with a header line of the columns (default: every key of the rows, in the order they first appear);
 * values as in toPdf: dates in ISO-8601, blobs in base64, objects as JSON.
 *
 * @example
 * writeFileAtomic("data/reports/sales.csv", toCsv(rows));
 */
export function toCsv(rows: readonly Record<string, unknown>[], columns?: readonly string[]): string {
  const cols = columns ?? defaultColumns(rows);
  const cell = (value: unknown): string => {
    const text = cellText(value);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [cols.map(cell).join(","), ...rows.map((row) => cols.map((c) => cell(row[c])).join(","))].join("\r\n") + "\r\n";
}

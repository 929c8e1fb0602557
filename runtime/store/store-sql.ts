/** Prepared-statement access to one sql.js database. */
import type { BindParams, Database, SqlValue, Statement } from "sql.js";

export type Row = Record<string, SqlValue>;

export class SqlStatements {
  readonly db: Database;
  /** Prepared statements by SQL text (sql.js >= 1.16 keeps them across export()). */
  readonly #statements = new Map<string, Statement>();

  constructor(db: Database) {
    this.db = db;
    // The database lives in WASM memory and is made durable by the store's
    // journal and snapshots, so SQLite's own file-locking and journal syncing
    // are pure overhead here (they cost 2-3x per autocommitted statement). The
    // journal stays in memory so a failed statement or migration still rolls
    // back. (sql.js >= 1.16 keeps connection settings across export().)
    db.exec("PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF");
  }

  all(sql: string, params: SqlValue[]): Row[] {
    const statement = this.#statement(sql);
    try {
      statement.bind(params as BindParams);
      const rows: Row[] = [];
      while (statement.step()) rows.push(statement.getAsObject());
      return rows;
    } finally {
      statement.reset();
    }
  }

  get(sql: string, params: SqlValue[]): Row | undefined {
    return this.all(sql, params)[0];
  }

  /** Runs a data-changing statement; returns the number of rows it changed. */
  run(sql: string, params: SqlValue[]): number {
    this.all(sql, params);
    return this.db.getRowsModified();
  }

  /** Frees the statements and the database. */
  close(): void {
    this.#statements.clear(); // db.close() frees them
    this.db.close();
  }

  #statement(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}

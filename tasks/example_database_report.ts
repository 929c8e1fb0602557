/*
---
title: "Database Report"
description: "Every weekday morning: queries a database, writes the result as .xlsx, PDF and CSV to data/reports/, and e-mails them."
timeout: 120
retry_count: 1
retry_delay: 300
---
*/
// The DB Query Scheduler's job, end to end: a query, its rows as an Excel
// workbook, a PDF and a CSV, e-mailed as attachments.
//
// Settings, all optional, in config/example_database_report.yaml:
//   database: data/example_sales.db      # a SQLite file (relative to the project)
//   database_url: postgres://user@host/db  # or PostgreSQL (with taskhost's own pg package)
//   query: "SELECT ... WHERE day >= $1"  # $1 is the first day of the period (SQLite also takes ?)
//   days: 7
//   to: ["boss@example.com"]             # no recipients: the files are written, not mailed
//   subject: "Sales report"
// The mail goes through alerts.smtp in config/config.yaml (password in
// config/secrets.yaml). The first run creates data/example_sales.db with
// sample data, so the example works out of the box.
import path from "node:path";
import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { repeat, cron, type TaskContext } from "taskhost";
import {
  errorMessage,
  getConfigValue,
  getProjectRoot,
  logStructuredData,
  openSqliteDatabase,
  queryRows,
  resolveHostModule,
  saveSqliteDatabase,
  sendEmail,
  toCsv,
  toPdf,
  toXlsx,
  writeFileAtomic,
  type Database,
  type Row,
} from "taskhost/helpers";

const CONFIG = "example_database_report.yaml";
const REGIONS = ["north", "south", "east", "west"];
const PRODUCTS = ["widget", "gadget", "gizmo", "doohickey"];
const DEFAULT_QUERY = `SELECT region, product, count(*) AS orders, round(sum(amount), 2) AS revenue
  FROM sales WHERE day >= $1 GROUP BY region, product ORDER BY revenue DESC`;

export default class DatabaseReport {
  @repeat(cron("0 7 * * 1-5")) // 07:00, Monday to Friday
  async report(ctx: TaskContext) {
    const days = getConfigValue("days", CONFIG, 7);
    const query = getConfigValue("query", CONFIG, DEFAULT_QUERY);
    const since = new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
    const url = getConfigValue<string | null>("database_url", CONFIG, null);
    const rows = url ? await queryPostgres(url, query, [since]) : await querySqlite(ctx, query, since);

    const stamp = new Date().toISOString().slice(0, 10);
    const reports = path.join(getProjectRoot(), "data", "reports");
    const columns = Object.keys(rows[0] ?? { region: 0, product: 0, orders: 0, revenue: 0 });
    const csv = toCsv(rows, columns);
    const xlsx = await toXlsx(rows, { columns, sheet: `Since ${since}` });
    const title = getConfigValue("subject", CONFIG, "Sales report");
    const base = path.join(reports, `sales-${stamp}`);
    writeFileAtomic(`${base}.csv`, csv);
    writeFileAtomic(`${base}.xlsx`, xlsx);
    // The PDF last, and not at the others' expense: a value its font lacks (CJK, say) fails it
    // with a message saying which, and the CSV and workbook are still written and mailed.
    let pdf: Buffer | null = null;
    try {
      pdf = await toPdf(rows, { columns, title, subtitle: `Last ${days} days, since ${since} (${rows.length} rows)` });
      writeFileAtomic(`${base}.pdf`, pdf);
    } catch (error) {
      ctx.log.warn(`no PDF this time: ${errorMessage(error)}`);
    }
    const totals = rows.reduce<{ orders: number; revenue: number }>(
      (t, r) => ({ orders: t.orders + Number(r.orders ?? 0), revenue: t.revenue + Number(r.revenue ?? 0) }),
      { orders: 0, revenue: 0 },
    );
    const summary = [
      `# Sales report ${stamp}`,
      "",
      `Last ${days} days (since ${since}): ${totals.orders} orders, revenue ${totals.revenue.toFixed(2)}.`,
      "",
      "Top rows:",
      ...rows.slice(0, 3).map((r, i) => `${i + 1}. ${columns.map((c) => `${c} ${r[c]}`).join(", ")}`),
      "",
    ].join("\n");
    writeFileAtomic(`${base}.md`, summary);

    const to = getConfigValue<string[]>("to", CONFIG, []);
    if (to.length === 0) {
      ctx.log.info(`no recipients (to: in config/${CONFIG}): the report is in data/reports/, not e-mailed`);
    } else {
      const sent = await sendEmail({
        to,
        subject: `${title} ${stamp}`,
        text: summary,
        attachments: [
          { filename: `sales-${stamp}.xlsx`, content: xlsx, contentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
          ...(pdf ? [{ filename: `sales-${stamp}.pdf`, content: pdf, contentType: "application/pdf" }] : []),
          { filename: `sales-${stamp}.csv`, content: csv, contentType: "text/csv" },
        ],
      });
      ctx.log.info(`e-mailed to ${sent.accepted.join(", ")}`);
    }
    logStructuredData("report", { since, rows: rows.length, orders: totals.orders, csv: path.relative(getProjectRoot(), `${base}.csv`), mailed: to.length });
  }
}

/** SQLite through the helpers (sql.js); `$1` in the query is the period's first day. */
async function querySqlite(ctx: TaskContext, query: string, since: string): Promise<Row[]> {
  const dbFile = getConfigValue("database", CONFIG, "data/example_sales.db");
  if (!existsSync(path.resolve(getProjectRoot(), dbFile))) {
    ctx.log.info(`${dbFile} does not exist: creating it with sample data`);
    await createSampleDatabase(dbFile);
  }
  const db = await openSqliteDatabase(dbFile);
  try {
    return queryRows(db, query, query.includes("$1") ? { $1: since } : [since]);
  } finally {
    db.close();
  }
}

/** PostgreSQL with `pg`, loaded from the taskhost folder (it is not one of this task's bundled dependencies). */
async function queryPostgres(url: string, query: string, params: unknown[]): Promise<Row[]> {
  let pg: { Client: new (options: { connectionString: string }) => PgClient };
  try {
    pg = (await import(pathToFileURL(resolveHostModule("pg")).href)).default;
  } catch {
    throw new Error(`database_url is set in config/${CONFIG}, but taskhost's pg package cannot be loaded: run \`npm install\` in the taskhost folder`);
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(query, params)).rows;
  } finally {
    await client.end();
  }
}

interface PgClient {
  connect(): Promise<void>;
  query(text: string, values: unknown[]): Promise<{ rows: Row[] }>;
  end(): Promise<void>;
}

/** A small sales table over the last 30 days, the same every time (a seeded generator). */
async function createSampleDatabase(file: string): Promise<void> {
  const db: Database = await openSqliteDatabase(file, { create: true });
  try {
    db.run("CREATE TABLE sales (id INTEGER PRIMARY KEY, day TEXT NOT NULL, region TEXT NOT NULL, product TEXT NOT NULL, amount REAL NOT NULL)");
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const insert = db.prepare("INSERT INTO sales (day, region, product, amount) VALUES (?, ?, ?, ?)");
    db.run("BEGIN");
    for (let d = 0; d < 30; d++) {
      const day = new Date(Date.now() - d * 86_400_000).toISOString().slice(0, 10);
      for (let n = 0; n < 20; n++) {
        insert.run([day, REGIONS[Math.floor(random() * 4)]!, PRODUCTS[Math.floor(random() * 4)]!, Math.round(random() * 50_000) / 100]);
      }
    }
    db.run("COMMIT");
    insert.free();
    saveSqliteDatabase(db, file);
  } finally {
    db.close();
  }
}

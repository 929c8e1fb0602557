/*
---
title: "Database Report"
description: "Every weekday morning: queries a SQLite database and writes a CSV and a summary to data/reports/."
timeout: 120
---
*/
// The database report scheduler's job, minus e-mail (which needs SMTP
// credentials: put them in config/secrets.yaml and send the files from here).
// The database is data/example_sales.db; the first run creates it with sample
// data so the example works out of the box. Point `database:` in
// config/example_database_report.yaml at your own SQLite file.
//
// SQLite comes from sql.js (WebAssembly), which taskhost already ships; the
// helpers load it and its .wasm from taskhost's own installation.
import path from "node:path";
import { existsSync } from "node:fs";
import { repeat, cron, type TaskContext } from "taskhost";
import {
  getConfigValue,
  getProjectRoot,
  logStructuredData,
  openSqliteDatabase,
  queryRows,
  saveSqliteDatabase,
  toCsv,
  writeFileAtomic,
  type Database,
} from "taskhost/helpers";

const REGIONS = ["north", "south", "east", "west"];
const PRODUCTS = ["widget", "gadget", "gizmo", "doohickey"];

export default class DatabaseReport {
  @repeat(cron("0 7 * * 1-5")) // 07:00, Monday to Friday
  async report(ctx: TaskContext) {
    const dbFile = getConfigValue("database", "example_database_report.yaml", "data/example_sales.db");
    const days = getConfigValue("days", "example_database_report.yaml", 7);
    if (!existsSync(path.resolve(getProjectRoot(), dbFile))) {
      ctx.log.info(`${dbFile} does not exist: creating it with sample data`);
      await createSampleDatabase(dbFile);
    }

    const db = await openSqliteDatabase(dbFile);
    try {
      const since = new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
      const rows = queryRows(
        db,
        `SELECT region, product, count(*) AS orders, round(sum(amount), 2) AS revenue
           FROM sales WHERE day >= ? GROUP BY region, product ORDER BY revenue DESC`,
        [since],
      );
      const totals = queryRows(db, "SELECT count(*) AS orders, round(coalesce(sum(amount), 0), 2) AS revenue FROM sales WHERE day >= ?", [since])[0]!;

      const stamp = new Date().toISOString().slice(0, 10);
      const reports = path.join(getProjectRoot(), "data", "reports");
      const csvFile = path.join(reports, `sales-${stamp}.csv`);
      const summaryFile = path.join(reports, `sales-${stamp}.md`);
      writeFileAtomic(csvFile, toCsv(rows, ["region", "product", "orders", "revenue"]));
      const top = rows.slice(0, 3).map((r, i) => `${i + 1}. ${r.product} in ${r.region}: ${r.revenue} (${r.orders} orders)`);
      writeFileAtomic(
        summaryFile,
        [
          `# Sales report ${stamp}`,
          "",
          `Last ${days} days (since ${since}): ${totals.orders} orders, revenue ${totals.revenue}.`,
          "",
          "Top region/product pairs:",
          ...top,
          "",
          `Full table: ${path.basename(csvFile)}`,
          "",
        ].join("\n"),
      );
      logStructuredData("report", { since, orders: totals.orders, revenue: totals.revenue, rows: rows.length, csv: path.relative(getProjectRoot(), csvFile) });
    } finally {
      db.close();
    }
  }
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

/** Reads runs straight from a stopped host's sql.js ledger (1,000 `history` CLI calls would take minutes). */
import { readFile } from "node:fs/promises";
import path from "node:path";
import initSqlJs from "sql.js";
import type { TempProject } from "../../tests/support/temp-project.ts";
import type { LagRun } from "./lag-stats.ts";

/** Scheduled runs whose occurrence falls in [from, to), as lag samples. */
export async function ledgerLags(project: TempProject, from: number, to: number, jobs: number): Promise<LagRun> {
  const SQL = await initSqlJs();
  const db = new SQL.Database(await readFile(path.join(project.root, "data", "scheduler.db")));
  try {
    const rows = db.exec(
      `SELECT scheduled_for, started_at, status FROM runs WHERE trigger IN ('schedule', 'catch-up') AND scheduled_for >= ${from} AND scheduled_for < ${to}`,
    )[0]?.values ?? [];
    const samples = rows.filter((r) => r[1] != null).map((r) => ({ scheduledFor: Number(r[0]), startedAt: Number(r[1]) }));
    const seconds = (to - from) / 1000;
    return { samples, notRun: jobs * seconds - samples.length, seconds, skipped: rows.filter((r) => r[2] === "skipped").length };
  } finally {
    db.close();
  }
}

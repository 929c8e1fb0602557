import { appendFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { AlertRow, ListAlertsOptions } from "../store/ledger.ts";

/** The part of the Ledger alerting needs (recordAlert/listAlerts of runtime/store/ledger.ts). */
export interface AlertStore {
  recordAlert(alert: Omit<AlertRow, "id">): Promise<AlertRow>;
  listAlerts(options?: ListAlertsOptions): Promise<AlertRow[]>;
}

/** Alerts kept; past twice this the file is rewritten with the newest. */
const KEEP = 2000;

/**
 * Alerts as JSON lines in `data/alerts.jsonl`, until the sql.js ledger gains
 * recordAlert/listAlerts (the ledger branch rewrites runtime/store now; the
 * Ledger interface already has the two methods, and the host switches to them
 * with the ledger). Appends only, so `taskhost alerts` can read it while a
 * host writes; a torn last line from a crash is skipped.
 */
export class AlertFile implements AlertStore {
  private nextId: number | null = null;
  private lines = 0;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {}

  static inDataDir(dataDir: string): AlertFile {
    return new AlertFile(path.join(dataDir, "alerts.jsonl"));
  }

  recordAlert(alert: Omit<AlertRow, "id">): Promise<AlertRow> {
    // One write at a time: ids stay in order and a compaction never races an append.
    const result = this.chain.then(async () => {
      if (this.nextId === null) {
        const all = await this.readAll();
        this.nextId = (all.at(-1)?.id ?? 0) + 1;
        this.lines = all.length;
      }
      const row: AlertRow = { id: this.nextId++, ...alert };
      await mkdir(path.dirname(this.file), { recursive: true });
      await appendFile(this.file, `${JSON.stringify(row)}\n`, { mode: 0o600 });
      if (++this.lines > 2 * KEEP) await this.compact();
      return row;
    });
    this.chain = result.catch(() => {});
    return result;
  }

  async listAlerts(options: ListAlertsOptions = {}): Promise<AlertRow[]> {
    await this.chain;
    const { limit = 50, before, taskId } = options;
    return (await this.readAll())
      .filter((a) => (before === undefined || a.id < before) && (taskId === undefined || a.taskId === taskId))
      .reverse()
      .slice(0, limit);
  }

  private async readAll(): Promise<AlertRow[]> {
    let text: string;
    try {
      text = await readFile(this.file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const rows: AlertRow[] = [];
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      try {
        rows.push(JSON.parse(line) as AlertRow);
      } catch {
        // a line torn by a crash mid-append
      }
    }
    return rows;
  }

  private async compact(): Promise<void> {
    const keep = (await this.readAll()).slice(-KEEP);
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, keep.map((r) => `${JSON.stringify(r)}\n`).join(""), { mode: 0o600 });
    await rename(tmp, this.file);
    this.lines = keep.length;
  }
}

/**
 * The `ctx.state` rows of the tasks read so far, as their JSON text, for the
 * sql.js ledger: its process is the file's one writer (writer-lock.ts), so
 * what it wrote is what the file holds, and a run's state need not be read
 * from SQLite again (~0.1 ms of the host's CPU a run, measured in a burst of
 * 1,000). Each read parses anew: a run that changes the object it got changes
 * nothing here.
 */
export class TaskStateCache {
  readonly #tasks = new Map<string, Map<string, string>>();

  /** The task's state; `load` reads its rows (key, JSON) the first time. */
  read(taskId: string, load: () => Iterable<[string, string]>): Record<string, unknown> {
    let rows = this.#tasks.get(taskId);
    if (!rows) {
      rows = new Map(load());
      this.#tasks.set(taskId, rows);
    }
    const state: Record<string, unknown> = {};
    // In key order, as the ledger's query returns them.
    for (const key of [...rows.keys()].sort()) state[key] = JSON.parse(rows.get(key)!);
    return state;
  }

  /** A write the ledger made durable: `json` null deletes the key. Tasks not read yet stay unread. */
  written(taskId: string, key: string, json: string | null): void {
    const rows = this.#tasks.get(taskId);
    if (!rows) return;
    if (json === null) rows.delete(key);
    else rows.set(key, json);
  }
}

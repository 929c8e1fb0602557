import type { Store } from "../store/store.ts";
import type { TimelineRunRow } from "./timeline-data.ts";
import { runInstant } from "./timeline-data.ts";

/**
 * `listRunsBetween` for the ledger of today's `Store`, which has no range
 * query: each task's kept history (`history_per_task` runs at most), filtered.
 * Goes when the host runs on the intent-level `Ledger` (issue 12), whose
 * `listRunsBetween` answers this in one query.
 */
export function storeRunsBetween(store: Store, historyPerTask: () => number) {
  return async (from: number, to: number, taskId?: string): Promise<TimelineRunRow[]> => {
    const ids = taskId ? [taskId] : (await store.listTasks()).map((t) => t.id);
    const out: TimelineRunRow[] = [];
    for (const id of ids) {
      for (const run of await store.listRuns(id, { limit: historyPerTask() })) {
        const at = runInstant(run);
        if (at != null && at < to && (run.finishedAt ?? at) >= from) out.push(run);
      }
    }
    return out.sort((a, b) => (runInstant(a) ?? 0) - (runInstant(b) ?? 0));
  };
}

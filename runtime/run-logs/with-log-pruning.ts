/**
 * A `Ledger` whose history retention also removes the pruned runs' log files
 * (`pruneRuns` returns their ids): a run's full output goes with its row.
 */
import type { Ledger } from "../store/ledger.ts";
import type { RunLogFiles } from "./run-log-files.ts";

export function withLogPruning<L extends Ledger>(ledger: L, files: RunLogFiles, onError: (error: unknown) => void): L {
  const pruneRuns: Ledger["pruneRuns"] = async (taskId, keep) => {
    const removed = await ledger.pruneRuns(taskId, keep);
    await files.remove(taskId, removed).catch(onError);
    return removed;
  };
  // Every other method is the ledger's own, called on the ledger (its private fields stay reachable).
  return new Proxy(ledger, {
    get(target, property) {
      if (property === "pruneRuns") return pruneRuns;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * The one place run logs are attached to a runtime (the host and the offline
 * `taskhost run` alike): runs write their whole output through the launcher,
 * and the ledger's history retention removes the files with their runs.
 */
import type { RunLauncher } from "../scheduler/run-launcher.ts";
import type { Ledger } from "../store/ledger.ts";
import { RunLogFiles, runLogRoot } from "./run-log-files.ts";
import { withLogPruning } from "./with-log-pruning.ts";
import { withRunLogs } from "./with-run-logs.ts";

export function attachRunLogs<L extends Ledger>(
  parts: { launcher: RunLauncher; ledger: L },
  loggingDirectory: () => string,
  onError: (error: unknown) => void,
): { launcher: RunLauncher; ledger: L } {
  const files = new RunLogFiles(() => runLogRoot(loggingDirectory()), onError);
  return { launcher: withRunLogs(parts.launcher, files), ledger: withLogPruning(parts.ledger, files, onError) };
}

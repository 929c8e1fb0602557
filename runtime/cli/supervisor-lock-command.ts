import path from "node:path";
import { acquireLocks, projectLockFile } from "../host/host-lock.ts";
import { START_FAILURE_FILE } from "../supervisor/start-failure.ts";
import { EXIT_CANNOT_START } from "../supervisor/exit-codes.ts";
import { startContext } from "./cli-context.ts";
import { hostNodeFlags } from "../supervisor/host-node-flags.ts";

/** A word for POSIX sh: single-quoted, each `'` closed, escaped and reopened. */
const shellWord = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

/**
 * The hidden `__supervisor-lock` command, run once by the shell supervisor
 * (runtime/supervisor/supervise.sh) before its first host: checks the config
 * as `start` does, takes the project's lock for the supervisor's PID (it
 * holds it through its host's restarts and removes the files when it exits),
 * and prints where the project's files are as shell assignments, then
 * `set --` with Node's flags for the host.
 */
export async function supervisorLockCommand(configOption: string, supervisorPid: number): Promise<number> {
  const ctx = startContext(configOption);
  if (!ctx) return EXIT_CANNOT_START;
  const sharedLedger = ctx.config.database.url != null;
  try {
    await acquireLocks({ projectRoot: ctx.projectRoot, pidFile: ctx.files.pidFile, sharedLedger }, supervisorPid);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const { dataDir } = ctx.files;
  const assignments: Record<string, string> = {
    root: ctx.projectRoot,
    config: configOption,
    data_dir: dataDir,
    pid_file: ctx.files.pidFile,
    project_lock: sharedLedger ? "" : projectLockFile(ctx.projectRoot),
    stderr_tail: path.join(dataDir, "host-stderr.tail"),
    stderr_fifo: path.join(dataDir, "host-stderr.fifo"),
    start_failure: path.join(dataDir, START_FAILURE_FILE),
  };
  const lines = Object.entries(assignments).map(([name, value]) => `${name}=${shellWord(value)}`);
  lines.push(`set -- ${hostNodeFlags().map(shellWord).join(" ")}`);
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

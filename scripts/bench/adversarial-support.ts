/** What the adversarial scenarios (scripts/bench/adversarial-*.ts) share: a project's lifetime, /proc, another user. */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { isCode } from "../../runtime/errors.ts";
import { readLedger, type Ledger } from "../../tests/support/fault-host.ts";
import { TempProject } from "../../tests/support/temp-project.ts";
import { waitFor } from "../../tests/support/wait-for.ts";
import type { FaultRow } from "./results.ts";

export interface Scenario {
  /** The issue 10 item(s) it tries again, for a row when the scenario itself breaks. */
  item: string;
  attack: string;
  run(quick: boolean): Promise<FaultRow[]>;
}

/** A temp project for the length of `fn`, its hosts killed and its folder removed after, whatever happens. */
export async function inProject<T>(config: Record<string, unknown>, fn: (project: TempProject) => Promise<T>): Promise<T> {
  const project = await TempProject.create(config);
  try {
    return await fn(project);
  } finally {
    await project.cleanup();
  }
}

export { processTable, type Proc } from "../../tests/support/process-table.ts";

export const NOBODY = 65534;
export const isRoot = process.getuid?.() === 0;

/** Runs `code` (an ES module) with this Node as another user (nobody); null when not root, so no other user can be had. */
export function asOtherUser(code: string, timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> | null {
  if (!isRoot) return null;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", code], { uid: NOBODY, gid: NOBODY, cwd: "/" });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (exit) => {
      clearTimeout(timer);
      resolve({ code: exit, stdout, stderr });
    });
  });
}

/** Whether another user can be had here at all (root, and Node runnable as nobody): the control for every "another user" attack. */
export async function otherUserAvailable(): Promise<boolean> {
  return (await asOtherUser("process.exit(0)"))?.code === 0;
}

/** Kills a process, ignoring one already gone. */
export function killQuietly(pid: number, signal: NodeJS.Signals = "SIGKILL"): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * The ledger as the next offline command reads it, once the killed host's writer
 * lock is gone (the kernel drops it as the process dies, a moment after kill -9 returns).
 */
export function ledgerAfterKill(project: TempProject): Promise<Ledger> {
  return waitFor(
    () =>
      readLedger(project).catch((error: unknown) => {
        if (isCode(error, "ERR_DB_LOCKED")) return null;
        throw error;
      }),
    { timeoutMs: 15_000, what: "the killed host's writer lock to go" },
  );
}

/** Whether `pid` runs (a zombie waiting for a reaper does not). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** The PID in data/taskhost.pid (the supervisor's), or 0. */
export function pidFile(project: TempProject): number {
  try {
    return Number(readFileSync(`${project.root}/data/taskhost.pid`, "utf8").trim()) || 0;
  } catch {
    return 0;
  }
}

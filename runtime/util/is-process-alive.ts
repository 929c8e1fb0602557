import { readFileSync } from "node:fs";

/**
 * Whether a process with this PID exists and has not ended (EPERM: it does, it
 * just isn't ours). A zombie, ended but not yet reaped by its parent (a
 * daemon's parent is init, which may take seconds), counts as ended.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  return !isZombie(pid);
}

/** Linux: the state field of /proc/<pid>/stat (after the parenthesised name) is Z; elsewhere: unknown, so no. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false;
  }
}

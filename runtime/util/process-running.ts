import { existsSync, readFileSync } from "node:fs";

/**
 * Whether `pid` still runs. A zombie (dead, waiting for its parent to reap
 * it) does not: on Linux /proc tells the two apart; elsewhere only signal 0
 * can be asked, which a zombie answers too.
 */
export function processRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" && existsSync("/proc/self")) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

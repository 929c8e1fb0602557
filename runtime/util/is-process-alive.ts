import { procStat } from "./proc-stat.ts";

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
  // Linux tells a zombie apart; elsewhere signal 0 is all there is to ask.
  return procStat(pid)?.[0] !== "Z";
}

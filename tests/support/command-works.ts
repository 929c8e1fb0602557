import { execFileSync } from "node:child_process";

/** Whether `file args…` runs and exits 0 here: for tests that need a system tool (or a privilege) to skip without it. */
export function commandWorks(file: string, args: string[]): boolean {
  try {
    execFileSync(file, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * The environment task code gets: the host's, less taskhost's own secrets
 * (issue 10.9). The dashboard token (TASKHOST_DASHBOARD_TOKEN), and any later
 * TASKHOST_* setting (the database URL, the SMTP password), are the host's:
 * a task that prints its environment must not put them in the ledger and the
 * logs. Given as the `env` of every worker that runs task code (runs and
 * inspections) and of npm installs (dependencies' install scripts), so
 * `process.env` there, and every child process started from it, lacks them.
 *
 * This is not a sandbox: a task runs as the host's user and can read what that
 * user can (config/, data/, /proc/<host pid>/environ). README, "Security".
 */

/** The TASKHOST_* variables task code needs: where the project and taskhost's own install are. */
const PASSED_ON = new Set(["TASKHOST_PROJECT_ROOT", "TASKHOST_PACKAGE_DIR"]);

/** Whether a variable of the host's environment is withheld from task code. */
export function withheldFromTasks(name: string): boolean {
  return name.toUpperCase().startsWith("TASKHOST_") && !PASSED_ON.has(name);
}

/** A copy of `env` without what task code must not see. */
export function taskEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) if (!withheldFromTasks(name)) out[name] = value;
  return out;
}

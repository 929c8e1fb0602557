/**
 * The root of the taskhost project the current run belongs to (the folder
 * holding `config/`, `tasks/`, `data/`). Inside a run the host passes it in
 * TASKHOST_PROJECT_ROOT; elsewhere it is the working directory.
 *
 * @example
 * const reports = path.join(getProjectRoot(), "data", "reports");
 */
export function getProjectRoot(): string {
  return process.env.TASKHOST_PROJECT_ROOT ?? process.cwd();
}

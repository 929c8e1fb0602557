import path from "node:path";

/**
 * Task ids and which files are tasks (contract §2). Kept apart from loading so
 * the watcher, the CLI and the tests agree on one rule.
 */

export { ERR_TASK_OUTSIDE_DIR } from "../errors.ts";
import { ERR_TASK_OUTSIDE_DIR } from "../errors.ts";

/** `<tasksDir>/reports/daily.ts` -> `reports/daily` (always `/`, whatever the OS). */
export function taskIdFromPath(tasksDir: string, absFile: string): string {
  const rel = path.relative(tasksDir, absFile);
  if (rel === "" || rel.startsWith("..") || path.isAbsolute(rel)) {
    throw Object.assign(
      new Error(`task-id: ${absFile} is not inside the tasks directory ${tasksDir}; move the file there or set tasks.directory`),
      { code: ERR_TASK_OUTSIDE_DIR },
    );
  }
  return rel.split(path.sep).join("/").replace(/\.ts$/, "");
}

/**
 * Whether a path relative to the tasks directory names a task file:
 * only `.ts`; never `*.d.ts` or `*.test.ts`; never when the file or any folder on
 * the way starts with `_` or `.` (private helpers, editor and VCS files);
 * `example_*` files only when `includeExamples`.
 */
export function isTaskFile(relPath: string, includeExamples: boolean): boolean {
  // Accept either separator: watchers report native paths, callers may pass ids.
  const segments = relPath.split(/[\\/]+/).filter((s) => s !== "" && s !== ".");
  const name = segments.at(-1);
  if (name === undefined || segments.includes("..")) return false;
  if (segments.some((s) => s.startsWith("_") || s.startsWith("."))) return false;
  if (!name.endsWith(".ts") || name.endsWith(".d.ts") || name.endsWith(".test.ts")) return false;
  if (name.startsWith("example_") && !includeExamples) return false;
  return true;
}

/**
 * Whether `id` is one a task file can have (isTaskFile), written safely: no control character
 * or backslash, no blank folder. Any such id (`report.v2`, `my task`) is a task's, so the
 * dashboard may edit it and its runs have log files; a new id from a form is held to more.
 */
export function isTaskId(id: string): boolean {
  // eslint-disable-next-line no-control-regex -- a control character is never part of a task file's id
  if (id === "" || id.length > 1000 || /[\u0000-\u001f\u007f\\]/.test(id)) return false;
  return id.split("/").every((segment) => segment.trim() !== "" && segment !== ".") && isTaskFile(`${id}.ts`, true);
}

/**
 * Where a task id may be written, and nowhere else. Ids come from web forms:
 * each one is checked against a strict shape, and the folder it lands in is
 * resolved through symlinks and must still be inside the tasks directory.
 */
import { realpath } from "node:fs/promises";
import path from "node:path";
import { isTaskFile, isTaskId } from "../task-file/task-id.ts";
import { taskhostError } from "../errors.ts";

/** Deleted task files go here (a folder starting with "." holds no tasks). */
export const TRASH_DIR = ".trash";

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** The id, or ERR_BAD_REQUEST (field `id`) saying what a task id may look like. */
export function checkTaskId(value: unknown): string {
  const id = typeof value === "string" ? value.trim() : "";
  const segments = id.split("/");
  if (id === "" || id.length > 200 || segments.length > 8 || !segments.every((s) => SEGMENT.test(s)) || !isTaskFile(`${id}.ts`, true)) {
    throw taskhostError(
      "ERR_BAD_REQUEST",
      `task id ${JSON.stringify(id)} is not allowed: use letters, digits, "-" and "_", folders separated by "/" ` +
        `(e.g. "reports/nightly-export"); a name may not start with "_", "." or "-"`,
      { field: "id" },
    );
  }
  return id;
}

/**
 * The id of a task file that exists (to read, edit, delete or restore it): any id contract §2
 * gives a file, such as `report.v2` or `my task`, which checkTaskId refuses for a new one;
 * pathInTasks still keeps it inside the tasks directory.
 */
export function checkExistingTaskId(value: unknown): string {
  const id = typeof value === "string" ? value : "";
  if (!isTaskId(id)) {
    throw taskhostError("ERR_BAD_REQUEST", `task id ${JSON.stringify(id)} names no task file: a task's id is its path under the tasks directory without ".ts"`, { field: "id" });
  }
  return id;
}

/** Whether `child` is `parent` or inside it (both absolute, resolved). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/** The nearest existing ancestor of `file`, resolved through symlinks. */
async function realAncestor(file: string): Promise<string> {
  let dir = path.dirname(file);
  for (;;) {
    try {
      return await realpath(dir);
    } catch {
      const up = path.dirname(dir);
      if (up === dir) return dir;
      dir = up;
    }
  }
}

/**
 * Absolute path of `<tasksDir>/<rel>`, refused (ERR_TASK_OUTSIDE_DIR) when a
 * symlinked folder on the way leads out of the tasks directory.
 */
export async function pathInTasks(tasksDir: string, rel: string): Promise<string> {
  const file = path.join(tasksDir, ...rel.split("/"));
  const root = await realpath(tasksDir).catch(() => path.resolve(tasksDir));
  if (!isInside(path.resolve(tasksDir), file) || !isInside(root, await realAncestor(file))) {
    throw taskhostError("ERR_TASK_OUTSIDE_DIR", `${rel} resolves outside the tasks directory ${tasksDir}; taskhost writes only inside it`);
  }
  return file;
}

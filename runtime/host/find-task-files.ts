import { lstat, readdir, readlink, stat } from "node:fs/promises";
import path from "node:path";
import { isTaskFile } from "../task-file/task-id.ts";

export interface TaskFiles {
  /** Absolute paths, sorted; symbolic links with a task file's name included (loading refuses them, with a message). */
  files: string[];
  /** Why something in (or instead of) the tasks directory loads nothing: each a sentence for the log. */
  notes: string[];
}

/**
 * Every task file under the tasks directory (sub-folders too). Nothing is
 * skipped without a word (issue 10.15): a missing directory and a linked
 * folder (not followed: it may loop, or lead out of the tasks directory) come
 * back as notes.
 */
export async function findTaskFiles(tasksDir: string, includeExamples: boolean): Promise<TaskFiles> {
  let entries;
  try {
    entries = await readdir(tasksDir, { recursive: true, withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { files: [], notes: [`tasks.directory ${tasksDir} does not exist, so no task is loaded; create it, or fix tasks.directory in the config file`] };
    if (code === "ENOTDIR") return { files: [], notes: [`tasks.directory ${tasksDir} is not a folder, so no task is loaded; fix tasks.directory in the config file`] };
    throw error;
  }
  const files: string[] = [];
  const notes: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile() && !entry.isSymbolicLink()) continue;
    // `parentPath` on Node >= 20.12; `path` before that.
    const dir = (entry as { parentPath?: string }).parentPath ?? (entry as unknown as { path: string }).path;
    const abs = path.join(dir, entry.name);
    const rel = path.relative(tasksDir, abs);
    if (isTaskFile(rel, includeExamples)) files.push(abs);
    else if (entry.isSymbolicLink() && (await linkTarget(abs)) === "folder") {
      notes.push(`${rel} in the tasks directory is a symbolic link to a folder, which taskhost does not follow (it may loop or lead out of the tasks directory); task files in it are not loaded: move the folder in instead`);
    }
  }
  return { files: files.sort(), notes };
}

/**
 * Why a task file is refused for being a symbolic link, or null for a regular
 * file. A link is not followed: the task's id, history and hot reload belong
 * to its file in the tasks directory, and a link would make a file elsewhere
 * (outside the project, perhaps writable by others) a task without its being
 * watched.
 */
export async function symlinkProblem(file: string): Promise<string | null> {
  const own = await lstat(file).catch(() => null);
  if (!own?.isSymbolicLink()) return null;
  const target = await readlink(file).catch(() => "?");
  const loops = (await linkTarget(file)) === "loop";
  return (
    `is a symbolic link (to ${target}${loops ? ", which loops back on itself" : ""}); taskhost loads only regular files in the tasks directory: ` +
    "copy the file in, or point tasks.directory at the folder that holds it"
  );
}

/** What a link leads to. */
async function linkTarget(link: string): Promise<"folder" | "file" | "loop" | "missing"> {
  try {
    return (await stat(link)).isDirectory() ? "folder" : "file";
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ELOOP" ? "loop" : "missing";
  }
}

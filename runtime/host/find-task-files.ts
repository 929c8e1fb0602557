import { readdir } from "node:fs/promises";
import path from "node:path";
import { isTaskFile } from "../task-file/task-id.ts";

/** Every task file under the tasks directory (sub-folders too), absolute paths, sorted. */
export async function findTaskFiles(tasksDir: string, includeExamples: boolean): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(tasksDir, { recursive: true, withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const files: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    // `parentPath` on Node >= 20.12; `path` before that.
    const dir = (entry as { parentPath?: string }).parentPath ?? (entry as unknown as { path: string }).path;
    const abs = path.join(dir, entry.name);
    if (isTaskFile(path.relative(tasksDir, abs), includeExamples)) files.push(abs);
  }
  return files.sort();
}

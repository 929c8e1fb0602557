/**
 * What a task's file says now, for `status` with no host running (contract
 * §13): the ledger keeps neither frontmatter nor load warnings, and what the
 * file says now is what the next host will load.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseTaskFile } from "../task-file/parse-task-file.ts";
import { noScheduleWarning } from "../task-file/no-schedule-warning.ts";
import type { IsolationLevel } from "../task-file/task-meta.ts";

export interface TaskFileFacts {
  /** Its frontmatter's `isolation`, else scheduler.isolation (also for a file that is gone or does not parse). */
  isolation: IsolationLevel;
  /** Its frontmatter's warnings, each with file:line, and for a task with no schedule, that one. */
  warnings: string[];
}

export function taskFileFacts(projectRoot: string, task: { file: string; manual: boolean }, fallback: IsolationLevel): TaskFileFacts {
  let source: string;
  try {
    source = readFileSync(path.join(projectRoot, task.file), "utf8");
  } catch {
    return { isolation: fallback, warnings: [] };
  }
  try {
    const parsed = parseTaskFile(source, task.file, { zone: "UTC" });
    const warnings = parsed.warnings.map((w) => (typeof w === "string" ? w : w.message));
    if (task.manual) warnings.push(noScheduleWarning(task.file, source));
    return { isolation: parsed.meta.isolation ?? fallback, warnings };
  } catch {
    return { isolation: fallback, warnings: [] };
  }
}

/**
 * A task's isolation level read from its file, for `status` with no host
 * running (contract §13): the ledger keeps no frontmatter, and what the file
 * says now is what the next host will run it with.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseTaskFile } from "../task-file/parse-task-file.ts";
import type { IsolationLevel } from "../task-file/task-meta.ts";

/** Its frontmatter's `isolation`, else `fallback` (scheduler.isolation), also for a file that is gone or does not parse. */
export function isolationInFile(projectRoot: string, relFile: string, fallback: IsolationLevel): IsolationLevel {
  try {
    return parseTaskFile(readFileSync(path.join(projectRoot, relFile), "utf8"), relFile, { zone: "UTC" }).meta.isolation ?? fallback;
  } catch {
    return fallback;
  }
}

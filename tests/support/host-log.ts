import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

/**
 * The whole text of a project's host log (`logs/scheduler.log`, or `name`),
 * across the files it rolled into: `scheduler.log` is a link to the current
 * one only, so a test that crosses midnight (daily rotation) or a size limit
 * would otherwise lose what was written before. Oldest first; "" if none.
 */
export async function readHostLog(root: string, name = "scheduler"): Promise<string> {
  const files = await hostLogFiles(root, name);
  const texts = await Promise.all(files.map((file) => readFile(file, "utf8").catch(() => "")));
  return texts.join("");
}

/** The files of a project's host log (`name`), oldest first: the rolled ones, or `<name>.log` when there are none. */
export async function hostLogFiles(root: string, name = "scheduler"): Promise<string[]> {
  const dir = path.join(root, "logs");
  const rolled = new RegExp(`^${name}\\.(?:(\\d{4}-\\d{2}-\\d{2}(?:-\\d{2})?)\\.)?(\\d+)\\.log$`);
  const files = (await readdir(dir).catch(() => [] as string[]))
    .map((file) => ({ file, match: rolled.exec(file) }))
    .filter((f): f is { file: string; match: RegExpExecArray } => f.match !== null)
    .sort((a, b) => (a.match[1] ?? "").localeCompare(b.match[1] ?? "") || Number(a.match[2]) - Number(b.match[2]));
  return files.length === 0 ? [path.join(dir, `${name}.log`)] : files.map(({ file }) => path.join(dir, file));
}

import { open, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { callHost, ERR_NO_HOST } from "./control-client.ts";
import type { StatusJson } from "../host/report-shapes.ts";
import { withLedger } from "./offline-ledger.ts";
import type { CliContext } from "./cli-context.ts";

/**
 * `logs [task] [-f]`: the task log (tasks.log), or one task's lines of it
 * (its `[title]` prefix, which tasks that share a title share too: said so),
 * optionally following it across rotations like `tail -F`.
 */
export async function logsCommand(ctx: CliContext, task: string | undefined, lines: number, follow: boolean): Promise<number> {
  const file = path.join(ctx.config.logging.directory, "tasks.log");
  let keep = (line: string) => line !== "";
  if (task) {
    const title = await titleOf(ctx, task);
    // `<ISO time> <LEVEL> [<title>] <message>`: the title where it stands, not anywhere in a message.
    keep = (line) => line.startsWith(`[${title}] `, line.indexOf(" ", line.indexOf(" ") + 1) + 1);
    const sharing = (await tasksTitled(ctx, title)).filter((id) => id !== task);
    if (sharing.length > 0) {
      process.stderr.write(
        `note: ${[task, ...sharing].join(", ")} share the title "${title}", so their lines in tasks.log are shown together; ` +
          `give each a title: in its frontmatter (one run's own lines alone: taskhost logs ${task} --run N)\n`,
      );
    }
  }
  let current = await realpath(file).catch(() => null);
  let offset = 0;
  if (current) {
    const text = await readFrom(current, 0);
    offset = Buffer.byteLength(text);
    for (const line of lines === 0 ? [] : text.split("\n").filter(keep).slice(-lines)) process.stdout.write(`${line}\n`);
  } else if (!follow) {
    process.stderr.write(`no task log yet (${path.relative(ctx.projectRoot, file)})\n`);
  }
  if (!follow) return 0;
  let carry = "";
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = await realpath(file).catch(() => null);
    if (now !== current) {
      // Rotated: finish nothing more of the old file; read the new one from its start.
      current = now;
      offset = 0;
      carry = "";
    }
    if (!current) continue;
    const size = (await stat(current).catch(() => null))?.size ?? 0;
    if (size < offset) offset = 0;
    if (size === offset) continue;
    const text = carry + (await readFrom(current, offset));
    offset = size;
    const parts = text.split("\n");
    carry = parts.pop() ?? "";
    for (const line of parts.filter(keep)) process.stdout.write(`${line}\n`);
  }
}

async function readFrom(file: string, offset: number): Promise<string> {
  const handle = await open(file, "r");
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(Math.max(0, size - offset));
    await handle.read(buffer, 0, buffer.length, offset);
    return buffer.toString("utf8");
  } finally {
    await handle.close();
  }
}

async function titleOf(ctx: CliContext, task: string): Promise<string> {
  try {
    // The host knows removed tasks too (from its ledger), whose log lines stay.
    return (await callHost<{ title: string }>(ctx.files.socket, "task", { task })).title;
  } catch (error) {
    const code = (error as { code?: string }).code;
    // A host started before an upgrade does not know the `task` request (older hosts said
    // ERR_UNKNOWN_METHOD, which now only means a task's method): its status lists live tasks.
    if (code === "ERR_UNKNOWN_REQUEST" || code === "ERR_UNKNOWN_METHOD") {
      const found = (await callHost<StatusJson>(ctx.files.socket, "status")).tasks.find((t) => t.id === task);
      if (found) return found.title;
      throw new Error(`taskhost: no live task "${task}" (restart the host to look up removed tasks; see \`taskhost status\`)`);
    }
    if (code !== ERR_NO_HOST) throw error;
  }
  const row = await withLedger(ctx, false, (store) => store.getTask(task)).catch(() => undefined);
  if (!row) throw new Error(`taskhost: no task "${task}" (see \`taskhost status\` for the task ids)`);
  return row.title;
}

/** The ids of the tasks known (the host's, else the ledger's) under this title. */
async function tasksTitled(ctx: CliContext, title: string): Promise<string[]> {
  const tasks = await callHost<StatusJson>(ctx.files.socket, "status")
    .then((status) => status.tasks)
    .catch(() => withLedger(ctx, false, (store) => store.listTasks()))
    .catch(() => []);
  return tasks.filter((t) => t.title === title).map((t) => t.id);
}

import { readFile } from "node:fs/promises";
import path from "node:path";
import { callHost, ERR_NO_HOST } from "./control-client.ts";
import { askHost } from "./ask-host.ts";
import { withLedger } from "./offline-ledger.ts";
import { zonedTime } from "./format-text.ts";
import { zoneOf } from "../host/build-status.ts";
import type { StatusJson } from "../host/report-shapes.ts";
import type { CliContext } from "./cli-context.ts";
import { nextRun } from "../schedule/next-run.ts";
import { validateSpec } from "../schedule/validate-spec.ts";
import { parseTaskFile } from "../task-file/parse-task-file.ts";
import type { ScheduleReset } from "../scheduler/scheduler.ts";
import type { ScheduleRow } from "../store/ledger.ts";
import { willBeScheduled } from "../store/will-be-scheduled.ts";

export { ERR_BAD_FLAGS } from "../errors.ts";
import { ERR_BAD_FLAGS, taskhostError } from "../errors.ts";

function badFlags(message: string): Error {
  return taskhostError(ERR_BAD_FLAGS, `taskhost: ${message}`);
}

async function hostOr<T>(ctx: CliContext, method: string, params: Record<string, unknown>, offline: () => Promise<T>): Promise<{ via: "host" | "ledger"; result: T }> {
  try {
    return { via: "host", result: await askHost<T>(ctx, method, params) };
  } catch (error) {
    if ((error as { code?: string }).code !== ERR_NO_HOST) throw error;
    return { via: "ledger", result: await offline() };
  }
}

/** The schedule as the ledger stored it: its fingerprint holds spec, zone and window. */
function nextFromRow(row: ScheduleRow, now: number): number | null {
  const { spec, zone, window } = JSON.parse(row.fingerprint) as { spec: unknown; zone: string; window: { start?: number; end?: number } };
  return nextRun(validateSpec(spec), now, zone, window);
}

export interface ResetFlags {
  dryRun: boolean;
  futureOnly: boolean;
  task: string[];
  all: boolean;
}

/** `reset-schedules`: recompute next runs on the aligned grid from now. */
export async function resetSchedulesCommand(ctx: CliContext, flags: ResetFlags): Promise<number> {
  if (flags.all && flags.task.length > 0) throw badFlags("--all and --task exclude each other: name tasks, or reset all of them");
  const params = { tasks: flags.task, futureOnly: flags.futureOnly, dryRun: flags.dryRun };
  const { via, result } = await hostOr<ScheduleReset[]>(ctx, "reset-schedules", params, () =>
    withLedger(ctx, !flags.dryRun, async (ledger) => {
      for (const id of flags.task) {
        if (!(await ledger.getTask(id))) throw badFlags(`no task "${id}" in the ledger (see \`taskhost status\`)`);
      }
      const now = Date.now();
      const resets: ScheduleReset[] = [];
      // Removed tasks (a ledger from before they dropped their schedules may hold some),
      // disabled ones and broken ones (the next start will not load them) have no next run to reset.
      const scheduled = new Set((await ledger.listTasks()).filter(willBeScheduled).map((t) => t.id));
      for (const row of await ledger.listSchedules()) {
        if (!scheduled.has(row.taskId)) continue;
        if (flags.task.length > 0 && !flags.task.includes(row.taskId)) continue;
        if (flags.futureOnly && (row.nextRun == null || row.nextRun > now)) continue;
        const after = nextFromRow(row, now);
        resets.push({ scheduleId: row.id, taskId: row.taskId, before: row.nextRun, after });
        if (!flags.dryRun) await ledger.setNextRun(row.id, after);
      }
      return resets;
    }),
  );
  const verb = flags.dryRun ? "would reset" : "reset";
  if (result.length === 0) {
    process.stdout.write(`nothing to reset${flags.futureOnly ? " (no schedule is overdue)" : ""}\n`);
    return 0;
  }
  const zones = await scheduleZones(ctx, via);
  const at = (ms: number | null, id: string) => zonedTime(iso(ms), zones.get(id));
  for (const r of result) {
    if (r.before === r.after) process.stdout.write(`${r.scheduleId}: next run ${at(r.after, r.scheduleId)} (already on time, unchanged)\n`);
    else process.stdout.write(`${verb} ${r.scheduleId}: next run ${at(r.before, r.scheduleId)} -> ${at(r.after, r.scheduleId)}\n`);
  }
  // Count what moved: a schedule already on time was not reset.
  const moved = result.filter((r) => r.before !== r.after).length;
  const unchanged = result.length - moved;
  const counts = `${moved} schedule(s) ${flags.dryRun ? "would be reset" : "reset"}${unchanged ? `, ${unchanged} already on time` : ""}`;
  process.stdout.write(
    `${flags.dryRun ? `dry run: nothing changed; ${counts}` : counts} (${via === "host" ? "through the running host" : "in the ledger; no host is running"})\n`,
  );
  return 0;
}

/** Each schedule's zone, to show its times on its own clock (empty when it cannot be read). */
async function scheduleZones(ctx: CliContext, via: "host" | "ledger"): Promise<Map<string, string | undefined>> {
  try {
    if (via === "host") {
      const status = await callHost<StatusJson>(ctx.files.socket, "status");
      return new Map(status.tasks.flatMap((t) => t.schedules.map((s) => [s.id, s.zone] as const)));
    }
    return await withLedger(ctx, false, async (store) => new Map((await store.listSchedules()).map((row) => [row.id, zoneOf(row.fingerprint)] as const)));
  } catch {
    return new Map();
  }
}

interface OverdueJson {
  scheduleId: string;
  taskId: string;
  nextRun: string;
  overdueSec: number;
  catchUp: string | null;
  paused: boolean;
}

/** `check-overdue`: schedules whose next run has passed unrun (what the next start will catch up). */
export async function checkOverdueCommand(ctx: CliContext, json: boolean): Promise<number> {
  const now = Date.now();
  const { via, result } = await hostOr(ctx, "check-overdue", {}, () =>
    withLedger(ctx, false, async (ledger) => {
      const rows = [];
      const tasks = new Map((await ledger.listTasks()).map((t) => [t.id, t]));
      for (const row of await ledger.listSchedules()) {
        if (row.nextRun == null || row.nextRun >= now) continue;
        const task = tasks.get(row.taskId);
        // What the next start would catch up: not a removed, disabled or broken task.
        if (!task || !willBeScheduled(task)) continue;
        rows.push({ scheduleId: row.id, taskId: row.taskId, nextRun: row.nextRun, catchUp: await catchUpOf(ctx, row.taskId), paused: task.paused });
      }
      return rows;
    }),
  );
  const overdue: OverdueJson[] = (result as Array<{ scheduleId: string; taskId: string; nextRun: number; catchUp: string | null; paused: boolean }>).map((r) => ({
    scheduleId: r.scheduleId,
    taskId: r.taskId,
    nextRun: new Date(r.nextRun).toISOString(),
    overdueSec: Math.round((now - r.nextRun) / 1000),
    catchUp: r.catchUp,
    paused: r.paused,
  }));
  if (json) {
    process.stdout.write(`${JSON.stringify(overdue, null, 2)}\n`);
    return 0;
  }
  if (overdue.length === 0) {
    process.stdout.write(`no overdue schedules (${via === "host" ? "the running host is on time" : "checked the ledger; no host is running"})\n`);
    return 0;
  }
  const zones = await scheduleZones(ctx, via);
  for (const o of overdue) {
    const what = o.paused ? "paused" : o.catchUp ? `catch_up: ${o.catchUp}` : "catch_up unknown";
    process.stdout.write(`${o.scheduleId}: due ${zonedTime(o.nextRun, zones.get(o.scheduleId))}, ${o.overdueSec} s overdue (${what})\n`);
  }
  process.stdout.write(`${overdue.length} overdue; \`taskhost reset-schedules --future-only\` moves them to their next aligned time\n`);
  return 0;
}

async function catchUpOf(ctx: CliContext, taskId: string): Promise<string | null> {
  try {
    const file = path.join(ctx.config.tasks.directory, `${taskId}.ts`);
    return parseTaskFile(await readFile(file, "utf8"), path.relative(ctx.projectRoot, file)).meta.catchUp;
  } catch {
    return null;
  }
}

function iso(ms: number | null): string | null {
  return ms == null ? null : new Date(ms).toISOString();
}

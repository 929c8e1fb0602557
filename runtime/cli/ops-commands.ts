import { ERR_NO_HOST } from "./control-client.ts";
import { askHost } from "./ask-host.ts";
import { assertLedgerExists } from "./offline-ledger.ts";
import { zonedTime } from "./format-text.ts";
import type { CliContext } from "./cli-context.ts";
import type { Runtime } from "../compose/compose-runtime.ts";
import type { OverdueSchedule, ScheduleReset } from "../scheduler/scheduler.ts";

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
    // What the host does, done here: the tasks loaded as a host loads them, then the host's own operation.
    offlineRuntime(ctx, flags.task.length > 0 ? flags.task : "all", async (runtime) => {
      const { hostOperations } = await import("../host/host-operations.ts");
      return hostOperations(runtime).resetSchedules(params);
    }),
  );
  const verb = flags.dryRun ? "would reset" : "reset";
  if (result.length === 0) {
    process.stdout.write(`nothing to reset${flags.futureOnly ? " (no schedule is overdue)" : ""}\n`);
    return 0;
  }
  for (const r of result) {
    const at = (ms: number | null) => zonedTime(iso(ms), r.zone);
    if (r.before === r.after) process.stdout.write(`${r.scheduleId}: next run ${at(r.after)} (already on time, unchanged)\n`);
    else process.stdout.write(`${verb} ${r.scheduleId}: next run ${at(r.before)} -> ${at(r.after)}\n`);
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

interface OverdueJson {
  scheduleId: string;
  taskId: string;
  nextRun: string;
  overdueSec: number;
  catchUp: string | null;
  /** Always false: paused schedules are not listed. Kept so a script that filtered on it (`.paused == false`) still sees every entry. */
  paused: boolean;
}

/**
 * `check-overdue`: schedules whose next run has passed unrun (what the next start will catch up).
 * A paused task's schedules are not among them: their stored next run stays behind while paused,
 * but resume counts from then and catches nothing up, so nothing is owed and a monitor that
 * counts the entries (or the "N overdue" line) must not alert for them. The text names them apart.
 * Exits 0 either way, as it always has: the list is the answer.
 */
export async function checkOverdueCommand(ctx: CliContext, json: boolean): Promise<number> {
  const now = Date.now();
  const { via, result } = await hostOr<OverdueSchedule[]>(ctx, "check-overdue", {}, async () => {
    assertLedgerExists(ctx);
    // What the next start would catch up, found as the host finds it: with the tasks loaded.
    return offlineRuntime(ctx, "all", async ({ scheduler }) => scheduler.overdueSchedules());
  });
  // An older host (mid-upgrade) still lists paused ones: they are told apart here, not only in the scheduler.
  const paused = result.filter((r) => r.paused).map((r) => r.scheduleId);
  const overdue: OverdueJson[] = result.filter((r) => !r.paused).map((r) => ({
    scheduleId: r.scheduleId,
    taskId: r.taskId,
    nextRun: new Date(r.nextRun).toISOString(),
    overdueSec: Math.round((now - r.nextRun) / 1000),
    catchUp: r.catchUp,
    paused: false,
  }));
  if (json) {
    process.stdout.write(`${JSON.stringify(overdue, null, 2)}\n`);
    return 0;
  }
  const pausedNote = paused.length ? `paused, not overdue (resume starts from then, nothing is caught up): ${paused.join(", ")}\n` : "";
  if (overdue.length === 0) {
    process.stdout.write(`no overdue schedules (${via === "host" ? "the running host is on time" : "checked the ledger; no host is running"})\n${pausedNote}`);
    return 0;
  }
  const zones = new Map(result.map((r) => [r.scheduleId, r.zone]));
  for (const o of overdue) {
    process.stdout.write(`${o.scheduleId}: due ${zonedTime(o.nextRun, zones.get(o.scheduleId))}, ${o.overdueSec} s overdue (${o.catchUp ? `catch_up: ${o.catchUp}` : "catch_up unknown"})\n`);
  }
  process.stdout.write(`${overdue.length} overdue; \`taskhost reset-schedules --future-only\` moves them to their next aligned time\n${pausedNote}`);
  return 0;
}

/** The runtime a host would build, loaded only when no host answers (commands through a host stay light). */
export async function offlineRuntime<T>(ctx: CliContext, tasks: "all" | string[], fn: (runtime: Runtime) => Promise<T>): Promise<T> {
  const { withOfflineRuntime } = await import("../compose/offline-runtime.ts");
  return withOfflineRuntime(ctx, { quiet: true, tasks }, fn);
}

function iso(ms: number | null): string | null {
  return ms == null ? null : new Date(ms).toISOString();
}

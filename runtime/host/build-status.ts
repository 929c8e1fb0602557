import type { Store } from "../store/store.ts";
import type { Scheduler } from "../scheduler/scheduler.ts";
import type { TaskCatalog, TaskEntry } from "./task-catalog.ts";
import { iso, lastRunJson, type HostJson, type ScheduleJson, type StatusJson, type TaskJson, type TaskState } from "./report-shapes.ts";

/** `status --json` as the running host sees it. */
export async function hostStatus(catalog: TaskCatalog, scheduler: Scheduler, store: Store, host: HostJson): Promise<StatusJson> {
  const tasks: TaskJson[] = [];
  for (const entry of [...catalog.entries.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    const schedules: ScheduleJson[] = [];
    for (const schedule of entry.loaded?.schedules ?? []) {
      schedules.push({
        id: schedule.id,
        spec: schedule.text,
        zone: schedule.zone,
        nextRun: iso(scheduler.nextRunOf(schedule.id)),
        lastRun: lastRunJson(await store.lastRun(schedule.id)),
      });
    }
    tasks.push({
      id: entry.id,
      title: entry.title,
      file: entry.relFile,
      state: stateOf(entry, scheduler),
      error: entry.error,
      warnings: [...(entry.loaded?.warnings ?? [])],
      schedules,
    });
  }
  return { host, tasks };
}

function stateOf(entry: TaskEntry, scheduler: Scheduler): TaskState {
  if (entry.error) return "error";
  if (entry.installing || !entry.loaded) return "installing";
  if (scheduler.isPaused(entry.id)) return "paused";
  if (!entry.loaded.meta.enabled) return "disabled";
  // Nothing to schedule: it runs when asked (`taskhost run`, the dashboard's button).
  if (entry.loaded.schedules.length === 0) return "manual";
  return "scheduled";
}

/** `status --json` with no host running: what the ledger last knew. */
export async function ledgerStatus(store: Store): Promise<StatusJson> {
  const tasks: TaskJson[] = [];
  for (const task of (await store.listTasks()).filter((t) => t.removedAt == null).sort((a, b) => a.id.localeCompare(b.id))) {
    const schedules: ScheduleJson[] = [];
    // A broken file will not load on the next start either: no schedule of it is going to run.
    for (const row of task.error ? [] : await store.listSchedules(task.id)) {
      schedules.push({ id: row.id, spec: row.spec, zone: zoneOf(row.fingerprint), nextRun: iso(row.nextRun), lastRun: lastRunJson(await store.lastRun(row.id)) });
    }
    // As the last host left it (the file may have changed since; the next start loads it anew).
    const state: TaskState = task.error ? "error" : task.paused ? "paused" : task.enabled ? "scheduled" : "disabled";
    tasks.push({ id: task.id, title: task.title, file: task.file, state, error: task.error, warnings: [], schedules });
  }
  return { host: { running: false, pid: null, uptimeSec: null, rssMb: null, restarts: 0 }, tasks };
}

/** The zone a stored schedule is read in: its fingerprint holds spec, zone and window. */
export function zoneOf(fingerprint: string): string | undefined {
  try {
    const zone = (JSON.parse(fingerprint) as { zone?: unknown }).zone;
    return typeof zone === "string" ? zone : undefined;
  } catch {
    return undefined;
  }
}

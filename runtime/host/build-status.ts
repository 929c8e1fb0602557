import { existsSync } from "node:fs";
import { isFleetLedger } from "../store/fleet-ledger.ts";
import type { Ledger, LedgerSnapshot } from "../store/ledger.ts";
import type { Scheduler } from "../scheduler/scheduler.ts";
import { shownError, type TaskCatalog, type TaskEntry } from "./task-catalog.ts";
import { scriptBundlePath } from "../task-file/bundle-task.ts";
import { hostsJson, type HostStatusJson } from "./fleet-status.ts";
import { isCode } from "../errors.ts";
import { iso, lastRunJson, type DatabaseWaitJson, type LastRunJson, type HostJson, type ScheduleJson, type StatusJson, type TaskJson, type TaskState } from "./report-shapes.ts";
import { ianaZoneName } from "../schedule/resolve-zone.ts";

/**
 * `status --json` as the running host sees it: its catalog and scheduler, one
 * snapshot of the ledger for the schedules' last runs, and a read of each
 * manual task's newest run (which no schedule holds).
 */
export async function hostStatus(
  catalog: TaskCatalog,
  scheduler: Scheduler,
  ledger: Ledger,
  host: HostJson,
  defaultIsolation: NonNullable<TaskJson["isolation"]> = "context",
  /**
   * A fleet's database away: `away()` when the host knows it already (the ledger is not asked: a
   * silent network would hold the answer), `failed(error)` for a read that fails ERR_DB_UNREACHABLE.
   * The status then comes from memory, without last runs, and `host.database` says why.
   */
  database?: { away(): DatabaseWaitJson | null; failed(error: unknown): DatabaseWaitJson },
): Promise<StatusJson> {
  let snapshot: LedgerSnapshot | null = null;
  const away = database?.away() ?? null;
  if (away) host = { ...host, database: away };
  else {
    try {
      snapshot = await ledger.statusSnapshot();
    } catch (error) {
      if (!database || !isCode(error, "ERR_DB_UNREACHABLE")) throw error;
      host = { ...host, database: database.failed(error) };
    }
  }
  const lastRuns = snapshot?.lastRuns ?? new Map();
  const tasks: TaskJson[] = [];
  for (const entry of [...catalog.entries.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    const paused = scheduler.isPaused(entry.id);
    const schedules: ScheduleJson[] = (entry.loaded?.schedules ?? []).map((schedule) => ({
      id: schedule.id,
      spec: schedule.text,
      zone: schedule.zone,
      // None while paused: the stored one stays behind, frozen, but resume counts from then and
      // catches nothing up, so a time in the past here would read as overdue when nothing is owed.
      nextRun: paused ? null : iso(scheduler.nextRunOf(schedule.id)),
      lastRun: lastRunJson(lastRuns.get(schedule.id)),
    }));
    tasks.push({
      id: entry.id,
      title: entry.title,
      file: entry.relFile,
      state: stateOf(entry, scheduler),
      error: shownError(entry),
      warnings: [...(entry.loaded?.warnings ?? [])],
      schedules,
      isolation: runsAt(entry, defaultIsolation),
      ...(snapshot && stateOf(entry, scheduler) === "manual" ? { lastRun: await newestRun(ledger, entry.id) } : {}),
    });
  }
  return { host, tasks, hosts: snapshot ? await hostsOf(ledger, snapshot) : [] };
}

/**
 * A manual task's last run: its newest (a scheduled task's are per schedule, from the snapshot).
 * undefined when the read fails (a fleet's database gone since the snapshot): status leaves it out.
 */
async function newestRun(ledger: Ledger, taskId: string): Promise<LastRunJson | null | undefined> {
  try {
    return lastRunJson((await ledger.listRuns(taskId, { limit: 1 }))[0]);
  } catch {
    return undefined;
  }
}

/** The hosts of the snapshot, with their clock skew where the ledger measures it (a fleet's). */
async function hostsOf(ledger: Ledger, snapshot: LedgerSnapshot): Promise<HostStatusJson[]> {
  return hostsJson(snapshot.hosts, isFleetLedger(ledger) ? await ledger.hostSkews() : new Map());
}

/**
 * The level a task's runs get: its own or the default, and `worker` for a bundle with no CommonJS
 * form (top-level await), as the launcher does. A task with no version that loaded (a broken file,
 * or one still installing) will run as its file says, as far as its frontmatter was read.
 */
function runsAt(entry: TaskEntry, defaultIsolation: NonNullable<TaskJson["isolation"]>): NonNullable<TaskJson["isolation"]> {
  if (!entry.loaded) return entry.fileIsolation ?? defaultIsolation;
  const level = entry.loaded.meta.isolation ?? defaultIsolation;
  return level !== "worker" && !existsSync(scriptBundlePath(entry.loaded.bundle.path)) ? "worker" : level;
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

/** `status --json` with no host running: what the ledger last knew, from one snapshot (and each manual task's newest run). */
export async function ledgerStatus(
  ledger: Ledger,
  /** What the task's file says now (task-file-facts.ts): its isolation and load warnings. */
  factsOf?: (task: { file: string; manual: boolean }) => { isolation: TaskJson["isolation"]; warnings: string[] },
): Promise<StatusJson> {
  const snapshot = await ledger.statusSnapshot();
  const tasks: TaskJson[] = [];
  for (const task of snapshot.tasks.filter((t) => t.removedAt == null).sort((a, b) => a.id.localeCompare(b.id))) {
    // A broken file will not load on the next start either: no schedule of it is going to run.
    const schedules: ScheduleJson[] = task.error
      ? []
      : snapshot.schedules
          .filter((row) => row.taskId === task.id)
          // None while paused, as a running host says (hostStatus).
          .map((row) => ({ id: row.id, spec: row.spec, zone: zoneOf(row.fingerprint), nextRun: task.paused ? null : iso(row.nextRun), lastRun: lastRunJson(snapshot.lastRuns.get(row.id)) }));
    // As the last host left it (the file may have changed since; the next start loads it anew).
    // A loaded task with no schedule runs only when asked, as a running host says.
    const state: TaskState = task.error ? "error" : task.paused ? "paused" : !task.enabled ? "disabled" : schedules.length === 0 ? "manual" : "scheduled";
    const facts = factsOf?.({ file: task.file, manual: state === "manual" });
    tasks.push({
      id: task.id,
      title: task.title,
      file: task.file,
      state,
      error: task.error,
      warnings: facts?.warnings ?? [],
      schedules,
      ...(facts ? { isolation: facts.isolation } : {}),
      ...(state === "manual" ? { lastRun: await newestRun(ledger, task.id) } : {}),
    });
  }
  return { host: { running: false, pid: null, uptimeSec: null, rssMb: null, restarts: 0 }, tasks, hosts: await hostsOf(ledger, snapshot) };
}

/** The zone a stored schedule is read in: its fingerprint holds spec, zone and window. */
export function zoneOf(fingerprint: string): string | undefined {
  try {
    const zone = (JSON.parse(fingerprint) as { zone?: unknown }).zone;
    // Fingerprints hold Intl's id (resolve-zone.ts fingerprintZone); people read the IANA name.
    return typeof zone === "string" ? ianaZoneName(zone) : undefined;
  } catch {
    return undefined;
  }
}

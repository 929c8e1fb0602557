import type { LastRunJson, RunJson, StatusJson } from "../host/report-shapes.ts";
import { resolveZone } from "../schedule/resolve-zone.ts";

/** Plain-text renderings of the JSON shapes, for people at a terminal. */
export function formatStatus(status: StatusJson): string {
  const { host } = status;
  const lines: string[] = [];
  lines.push(
    host.running
      ? `host: running (pid ${host.pid}, up ${duration((host.uptimeSec ?? 0) * 1000)}, ${host.rssMb} MB RSS, ${host.restarts} restart${host.restarts === 1 ? "" : "s"})`
      : "host: not running (showing what the ledger last recorded)",
  );
  if (host.running && host.lastCrash) {
    lines.push(`last crash: ${localTime(host.lastCrash.at)}, restarted by the supervisor (logs/supervisor.log, logs/errors.log):`, indent(host.lastCrash.error));
  }
  if (host.configError) {
    const c = host.configError;
    const saved = c.lastGoodSavedAt ? ` (saved ${localTime(c.lastGoodSavedAt)})` : "";
    const meanwhile = host.running
      ? `the host runs on the last good configuration${saved}`
      : c.lastGoodSavedAt
        ? `a host started now runs on the last good configuration${saved}`
        : "a host cannot start";
    lines.push(
      "",
      `CONFIG INVALID: ${c.file} is invalid since ${localTime(c.since)}; ${meanwhile} until it is fixed:`,
      indent(c.error),
      "",
    );
  }
  if (host.configWarnings?.length) lines.push("", "config warnings:", ...host.configWarnings.map((w) => indent(w)), "");
  if (host.starting) {
    // Its tasks are not loaded yet: "no tasks yet" below would be wrong.
    const db = host.database;
    lines.push(
      db?.state === "unreachable"
        ? `WAITING FOR ITS DATABASE (${db.code}): ${db.url} cannot be reached since ${localTime(db.since)} (${db.tries} tr${db.tries === 1 ? "y" : "ies"}); ` +
            "no task runs until it answers. The last try said:\n" + indent(db.error ?? "")
        : "starting: loading its tasks",
    );
    return lines.join("\n");
  }
  const db = host.database;
  if (db?.state === "unreachable") {
    lines.push(
      `DATABASE UNREACHABLE (${db.code}): ${db.url} cannot be reached since ${localTime(db.since)}; no task runs until it answers, ` +
        "and last runs are not shown. The last try said:",
      indent(db.error ?? ""),
      "",
    );
  }
  if (status.tasks.length === 0) {
    lines.push("no tasks yet: add a .ts file to the tasks directory", ...fleetLines(status));
    return lines.join("\n");
  }
  const rows: string[][] = [["TASK", "STATE", "SCHEDULE", "NEXT RUN", "LAST RUN"]];
  const lastText = (run: LastRunJson | null | undefined, zone?: string) =>
    run
      ? `${run.status}${run.startedAt && run.finishedAt ? ` in ${duration(Date.parse(run.finishedAt) - Date.parse(run.startedAt))}` : ""} (${zonedTime(run.scheduledFor, zone)})`
      : db?.state === "unreachable"
        ? "unknown"
        : "never";
  for (const task of status.tasks) {
    if (task.schedules.length === 0) {
      // A manual task has no schedule zone: its last run is in this machine's, named as the history's is.
      const last = task.lastRun !== undefined ? lastText(task.lastRun, machineZone()) : task.state === "manual" && db?.state === "unreachable" ? "unknown" : "-";
      rows.push([task.id, task.state, task.state === "manual" ? "none (taskhost run)" : "-", "-", last]);
    }
    task.schedules.forEach((s, i) => {
      const last = lastText(s.lastRun, s.zone);
      // A paused or disabled task keeps its stored next run, but nothing runs then.
      const next = task.state === "paused" || task.state === "disabled" ? `- (${task.state})` : zonedTime(s.nextRun, s.zone);
      rows.push([i === 0 ? task.id : "", i === 0 ? task.state : "", `${schedulesLabel(task.schedules.length, s.id)}${s.spec}`, next, last]);
    });
  }
  lines.push(...table(rows));
  lines.push(...fleetLines(status));
  for (const channel of status.alerts?.channels ?? []) {
    if (channel.state !== "failing") continue;
    lines.push("", `alert channel ${channel.name} (${channel.type}) is failing: ${channel.consecutiveFailures} attempt(s) in a row, last: ${channel.lastError ?? "?"}`);
  }
  for (const task of status.tasks) {
    if (task.warnings?.length) lines.push("", `warnings for ${task.id}:`, ...task.warnings.map((w) => indent(w)));
  }
  for (const task of status.tasks) {
    if (!task.error) continue;
    // Schedules listed for an error task are the last good version's, which keeps running.
    const keeps = task.schedules.length > 0 ? " (the previous version keeps running until the file is fixed)" : "";
    lines.push("", `error in ${task.id}${keeps}:`, indent(task.error));
  }
  return lines.join("\n");
}

export function formatHistory(taskId: string, runs: RunJson[]): string {
  if (runs.length === 0) return `no runs recorded for ${taskId}`;
  // The zone named, as status names each schedule's: this machine's (`--json` has ISO-8601 UTC).
  const rows: string[][] = [["RUN", "METHOD", `SCHEDULED FOR (${machineZone()})`, "STARTED", "DURATION", "STATUS", "TRIGGER", "ERROR"]];
  for (const run of runs) {
    rows.push([
      String(run.id),
      run.scheduleId?.split("#")[1] ?? "-",
      localTime(run.scheduledFor),
      localTime(run.startedAt),
      run.durationMs == null ? "-" : duration(run.durationMs),
      run.status,
      // As the dashboard says it: "retry #2" read like a second retry.
      run.trigger + (run.attempt > 1 ? ` (attempt ${run.attempt})` : "") + (run.covers && run.covers.count > 1 ? ` (covers ${run.covers.count} from ${localTime(run.covers.from)})` : ""),
      clip((run.error ?? "").split("\n", 1)[0]!, 80),
    ]);
  }
  return table(rows).join("\n");
}

/** The live hosts on a PostgreSQL ledger (contract §10; none are listed with sql.js, where `host` is the only one). */
function fleetLines(status: StatusJson): string[] {
  const { hosts } = status;
  if (hosts.length === 0) return [];
  const rows = [["HOST", "PID", "STARTED", "LAST HEARTBEAT", "RUNS NOW"]];
  for (const h of hosts) rows.push([h.id, String(h.pid), localTime(h.startedAt), localTime(h.lastHeartbeat), String(h.running)]);
  const skewed = hosts
    .filter((h) => h.skewMs != null)
    .map((h) => `clock of ${h.id} is ${Math.abs(h.skewMs!) / 1000} s ${h.skewMs! > 0 ? "behind" : "ahead of"} the database's (leases and claims use the database's clock; fix the host's time sync)`);
  return ["", `hosts sharing the ledger (${hosts.length}):`, ...table(rows).map((l) => `  ${l}`), ...skewed];
}

/** The whole message is in `history --json` and `taskhost logs <task> --run N`; say when it is cut. */
function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function schedulesLabel(count: number, id: string): string {
  return count > 1 ? `${id.split("#")[1]}: ` : "";
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? "").length)));
  return rows.map((r) => r.map((cell, col) => cell.padEnd(widths[col]!)).join("  ").trimEnd());
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}

/** The zone localTime shows times in. */
export function machineZone(): string {
  return resolveZone("local");
}

export function localTime(isoText: string | null): string {
  if (!isoText) return "-";
  const d = new Date(isoText);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/**
 * A schedule's time on its own wall clock, the zone named: `2026-12-02 09:30:00 Asia/Tokyo`
 * (a schedule read in Tokyo is shown in Tokyo time, whatever the machine's zone).
 */
export function zonedTime(isoText: string | null, zone: string | undefined): string {
  if (!isoText) return "-";
  if (!zone) return localTime(isoText);
  let format = zoneFormats.get(zone);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat("en-CA", {
        timeZone: zone,
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
      });
    } catch {
      return localTime(isoText);
    }
    zoneFormats.set(zone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(new Date(isoText)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${zone}`;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
  return `${Math.floor(ms / 3_600_000)}h${Math.floor((ms % 3_600_000) / 60_000)}m`;
}

import { describe, expect, it } from "vitest";
import { formatHistory, formatStatus, machineZone } from "../runtime/cli/format-text.ts";
import type { RunJson, StatusJson } from "../runtime/host/report-shapes.ts";

const run = (error: string | null): RunJson => ({
  id: 7,
  taskId: "report",
  scheduleId: "report#run",
  scheduledFor: "2026-03-01T09:00:00.000Z",
  startedAt: "2026-03-01T09:00:00.002Z",
  finishedAt: "2026-03-01T09:00:01.502Z",
  durationMs: 1500,
  status: error ? "failure" : "success",
  attempt: 1,
  trigger: "schedule",
  error,
  output: "",
});

describe("history as a table", () => {
  it("shows an error's first line, and marks it when cut at 80 characters", () => {
    const long = `TypeError: ${"x".repeat(100)}\n    at run (tasks/report.ts:3:9)`;
    const lines = formatHistory("report", [run(long), run("Error: short\nstack")]).split("\n");
    expect(lines[1]!.endsWith(`TypeError: ${"x".repeat(68)}…`)).toBe(true);
    expect(lines[2]!.endsWith("Error: short")).toBe(true);
    expect(lines.join("\n")).not.toContain("tasks/report.ts");
    expect(lines[0]).toContain(`SCHEDULED FOR (${Intl.DateTimeFormat().resolvedOptions().timeZone})`);
  });

  it("names a retry by its attempt, as the dashboard does", () => {
    const lines = formatHistory("report", [{ ...run("boom"), trigger: "retry", attempt: 2 }, run(null)]).split("\n");
    expect(lines[1]).toMatch(/ retry \(attempt 2\) +boom$/);
    expect(lines[2]).toMatch(/ success +schedule *$/);
  });

  it("says how many missed occurrences a catch-up run stands for, and from when", () => {
    const catchUp: RunJson = { ...run(null), trigger: "catch-up", covers: { from: "2026-03-01T06:00:00.000Z", count: 4 } };
    const lines = formatHistory("report", [catchUp, { ...catchUp, covers: { from: catchUp.scheduledFor!, count: 1 } }]).split("\n");
    const from = new Date("2026-03-01T06:00:00.000Z");
    const hhmm = `${String(from.getHours()).padStart(2, "0")}:${String(from.getMinutes()).padStart(2, "0")}`;
    expect(lines[1]).toMatch(new RegExp(` catch-up \\(covers 4 from \\S+ ${hhmm}\\S*\\) *$`));
    // Only itself: nothing to say.
    expect(lines[2]).toMatch(/ catch-up *$/);
  });
});

describe("status as text", () => {
  const base: StatusJson = {
    host: { running: true, pid: 10, uptimeSec: 60, rssMb: 100, restarts: 0 },
    tasks: [{ id: "report", title: "Report", file: "tasks/report.ts", state: "scheduled", error: null, warnings: [], schedules: [{ id: "report#run", spec: "every 5 minutes", zone: "UTC", nextRun: "2026-03-01T09:05:00.000Z", lastRun: null }] }],
    hosts: [],
  } as StatusJson;

  it("lists the hosts sharing a PostgreSQL ledger, and a clock that is off", () => {
    const text = formatStatus({
      ...base,
      hosts: [
        { id: "a:10", hostname: "a", pid: 10, startedAt: "2026-03-01T08:00:00.000Z", lastHeartbeat: "2026-03-01T09:00:00.000Z", running: 2 },
        { id: "b:20", hostname: "b", pid: 20, startedAt: "2026-03-01T08:30:00.000Z", lastHeartbeat: "2026-03-01T09:00:01.000Z", running: 0, skewMs: 2500 },
      ],
    });
    expect(text).toContain("hosts sharing the ledger (2):");
    expect(text).toMatch(/^ {2}a:10 +10 +\S+ \S+ +\S+ \S+ +2$/m);
    expect(text).toMatch(/^ {2}b:20 +20 /m);
    expect(text).toContain("clock of b:20 is 2.5 s behind the database's");
    // sql.js: the host line is the only host.
    expect(formatStatus(base)).not.toContain("hosts sharing");
    // A host that joined a fleet before any task file: the others are listed all the same.
    expect(formatStatus({ ...base, tasks: [], hosts: [{ id: "a:10", hostname: "a", pid: 10, startedAt: "2026-03-01T08:00:00.000Z", lastHeartbeat: "2026-03-01T09:00:00.000Z", running: 0 }] })).toContain(
      "no tasks yet: add a .ts file to the tasks directory\n\nhosts sharing the ledger (1):",
    );
  });

  it("names the zone of a manual task's last run, as every schedule's time names its own", () => {
    const manual = {
      ...base,
      tasks: [{ id: "report", title: "Report", file: "tasks/report.ts", state: "manual", error: null, warnings: [], schedules: [], lastRun: { status: "success", scheduledFor: "2026-03-01T09:00:00.000Z", startedAt: "2026-03-01T09:00:00.000Z", finishedAt: "2026-03-01T09:00:01.500Z", error: null } }],
    } as StatusJson;
    const zone = machineZone();
    expect(formatStatus(manual)).toMatch(new RegExp(`^report +manual +.*success in 1\\.5 s \\(2026-03-01 \\d\\d:00:00 ${zone.replace("/", "\\/")}\\)$`, "m"));
  });

  it("does not call a task's last run 'never' while the database that holds it cannot be reached", () => {
    const away = { ...base, host: { ...base.host, database: { state: "unreachable", url: "postgres://x", code: "ERR_DB_UNREACHABLE", error: "ECONNREFUSED", since: "2026-03-01T09:00:00.000Z", tries: 3 } } } as StatusJson;
    expect(formatStatus(away)).toMatch(/^report +scheduled +every 5 minutes +.* UTC +unknown$/m);
    expect(formatStatus(base)).toMatch(/ never$/m);
  });
});

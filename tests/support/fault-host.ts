/** Helpers for the fault-injection tests (tests/faults-*.test.ts). */
import { spawn, type ChildProcess } from "node:child_process";
import { chown, readdir } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { openSqlJsStore } from "../../runtime/store/sqljs-store.ts";
import type { RunRow, ScheduleRow } from "../../runtime/store/ledger.ts";
import { REPO, SHELL_BIN, type TempProject } from "./temp-project.ts";
import { waitFor } from "./wait-for.ts";
import { readHostLog } from "./host-log.ts";

const TSX = pathToFileURL(path.join(REPO, "node_modules", "tsx", "dist", "esm", "index.mjs")).href;
const ENTRY = path.join(REPO, "tests", "support", "fault-host-entry.ts");

/** A spawned process whose output is collected, with a way to kill it and wait for its end. */
export interface Proc {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<number | null>;
  kill9(): Promise<void>;
}

function track(child: ChildProcess): Proc {
  let output = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (output += d));
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    kill9: async () => {
      if (child.exitCode == null && child.signalCode == null) child.kill("SIGKILL");
      await exited;
    },
  };
}

export interface WarmHost extends Proc {
  /** Resolves once the runtime's modules are imported. */
  readonly warm: Promise<void>;
  /** Starts the host now. */
  go(): void;
}

/** A host process with the runtime imported, started by go() (see fault-host-entry.ts). Logs go to files only. */
export function warmHost(project: TempProject): WarmHost {
  const child = spawn(process.execPath, ["--import", TSX, ENTRY], {
    cwd: project.root,
    env: { ...process.env, NO_COLOR: "1", TASKHOST_DAEMON: "1" },
  });
  const proc = track(child);
  const warm = waitFor(() => proc.output().includes("warm\n") || child.exitCode != null, { timeoutMs: 30_000, what: "a warm host process" }).then(() => {
    if (child.exitCode != null) throw new Error(`the warm host exited (${child.exitCode}):\n${proc.output()}`);
  });
  return { ...proc, warm, go: () => child.stdin!.write("go\n") };
}

/**
 * `taskhost start` as a process of its own (not waiting for it to come up), as an
 * unprivileged user when the tests run as root, so file permissions apply.
 */
export function spawnStart(project: TempProject, options: { unprivileged?: boolean } = {}): Proc {
  const ids = options.unprivileged && process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {};
  return track(spawn(SHELL_BIN, ["start"], { cwd: project.root, env: { ...process.env, NO_COLOR: "1", TASKHOST_NODE: process.execPath }, ...ids }));
}

const NOBODY = 65534;

/** Hands the project to the user spawnStart({ unprivileged }) runs as (a no-op unless root). */
export async function giveToUnprivileged(project: TempProject): Promise<void> {
  if (process.getuid?.() !== 0) return;
  await chown(project.root, NOBODY, NOBODY);
  for (const entry of await readdir(project.root, { recursive: true, withFileTypes: true })) {
    await chown(path.join(entry.parentPath, entry.name), NOBODY, NOBODY);
  }
}

export interface Ledger {
  runs: RunRow[];
  schedules: ScheduleRow[];
  /** What opening it warned about (e.g. that it started from the backup). */
  warnings: string[];
}

/** Opens data/scheduler.db the way an offline command does (no host running) and reads every run. */
export async function readLedger(project: TempProject): Promise<Ledger> {
  const warnings: string[] = [];
  const store = await openSqlJsStore({ path: path.join(project.root, "data", "scheduler.db"), onWarning: (m) => warnings.push(m) });
  try {
    // Every row: the runs history lists, and the claims a killed host left (which it does not).
    const byId = new Map<number, RunRow>();
    for (const task of await store.listTasks()) for (const run of await store.listRuns(task.id, { limit: 100_000 })) byId.set(run.id, run);
    for (const run of await store.listUnfinishedRuns()) byId.set(run.id, run);
    return { runs: [...byId.values()].sort((a, b) => a.id - b.id), schedules: await store.listSchedules(), warnings };
  } finally {
    await store.close();
  }
}

/** Occurrences with more than one run, retries and manual runs aside. */
export function runTwice(runs: RunRow[]): string[] {
  const seen = new Map<string, number>();
  for (const run of runs) {
    if (run.trigger === "retry" || run.trigger === "manual") continue;
    const key = `${run.scheduleId}@${new Date(run.scheduledFor!).toISOString()}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([k]) => k);
}

/** The host's event lines (scheduler.log, across its rolled files) with this `event`; a line being written is left out. */
export async function hostEvents(project: TempProject, event: string): Promise<Array<Record<string, unknown> & { event?: string }>> {
  const events: Array<Record<string, unknown>> = [];
  for (const line of (await readHostLog(project.root)).split("\n")) {
    if (!line.includes(`"event":"${event}"`)) continue;
    try {
      events.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line being written right now
    }
  }
  return events;
}

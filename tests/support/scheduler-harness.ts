/**
 * A Scheduler under test: a real sql.js ledger in a temp folder, a fake clock
 * and timers, a fake launcher, and its log lines and events collected.
 */
import { afterEach } from "vitest";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Ledger, RunRow } from "../../runtime/store/ledger.ts";
import { openSqlJsLedger } from "../../runtime/store/sqljs-store.ts";
import { Scheduler } from "../../runtime/scheduler/scheduler.ts";
import type { HostLog, SchedulerEvents, SharedLedger } from "../../runtime/scheduler/scheduler-types.ts";
import type { ScheduleSpec } from "../../runtime/schedule/schedule-spec.ts";
import type { LoadedTask, TaskSchedule } from "../../runtime/task-file/loaded-task.ts";
import { TASK_META_DEFAULTS, type ResolvedTaskMeta } from "../../runtime/task-file/task-meta.ts";
import type { Isolation } from "../../runtime/scheduler/run-launcher.ts";
import { FakeLauncher } from "./fake-launcher.ts";
import { FakeTime } from "./fake-time.ts";

export interface LogLine {
  level: keyof HostLog;
  fields: Record<string, unknown>;
  message: string;
}

export interface Harness {
  dir: string;
  ledger: Ledger & { close(): Promise<void> };
  time: FakeTime;
  launcher: FakeLauncher;
  scheduler: Scheduler;
  logs: LogLine[];
  /** What went to tasks.log: `<level> [<title>] <message>`. */
  taskLines: string[];
  events: Array<{ name: keyof SchedulerEvents; info: unknown }>;
  /** Every run the ledger holds for a task, oldest first (claims not started yet included). */
  runs(taskId: string): Promise<RunRow[]>;
  close(): Promise<void>;
}

export async function harness(options: { start: number; maxConcurrentRuns?: number; historyPerTask?: number; dir?: string; owner?: string; isolation?: HarnessIsolation }): Promise<Harness> {
  // A memory-backed folder where there is one: the ledger is real, its fsyncs cost nothing.
  const base = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  const dir = options.dir ?? (await mkdtemp(path.join(base, "taskhost-scheduler-")));
  const ledger = await openSqlJsLedger({ path: path.join(dir, "scheduler.db") });
  const time = new FakeTime(options.start);
  return withScheduler({ dir, ledger, time, maxConcurrentRuns: options.maxConcurrentRuns, historyPerTask: options.historyPerTask, owner: options.owner, isolation: options.isolation });
}

/** Every task's isolation level, or each task's by its id. */
type HarnessIsolation = Isolation | ((taskId: string) => Isolation);

/** Another scheduler (a second host, or the next life of one) on a ledger and clock. */
export function withScheduler(options: {
  dir: string;
  ledger: Ledger & { close(): Promise<void> };
  time: FakeTime;
  maxConcurrentRuns?: number;
  historyPerTask?: number;
  owner?: string;
  ownsLedger?: boolean;
  /** Other hosts write the ledger too (the scheduler's shared-ledger port). */
  shared?: SharedLedger;
  /** The tasks' isolation level (default `worker`, the scheduler's own default). */
  isolation?: HarnessIsolation;
}): Harness {
  const { dir, ledger, time } = options;
  const launcher = new FakeLauncher(time);
  const logs: LogLine[] = [];
  const taskLines: string[] = [];
  const line = (level: keyof HostLog) => (fields: object, message = "") => logs.push({ level, fields: fields as Record<string, unknown>, message });
  const log: HostLog = { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
  const scheduler = new Scheduler({
    ledger,
    launcher,
    log,
    taskLog: (title, level, message) => taskLines.push(`${level} [${title}] ${message}`),
    maxConcurrentRuns: options.maxConcurrentRuns ?? 8,
    historyPerTask: options.historyPerTask ?? 1000,
    owner: options.owner ?? "host-a",
    shared: options.shared,
    clock: time,
    timers: time,
    ...(options.isolation ? { isolationOf: (task: LoadedTask) => (typeof options.isolation === "function" ? options.isolation(task.id) : options.isolation!) } : {}),
  });
  const events: Harness["events"] = [];
  for (const name of ["run.start", "run.end", "run.skipped", "occurrence.missed", "task.paused"] as const) {
    scheduler.on(name, (info: unknown) => events.push({ name, info }));
  }
  const previousSettle = time.settle;
  time.settle = async () => {
    await previousSettle();
    // Ledger writes end in real I/O: let them land, and what they let go on.
    await scheduler.idle();
  };
  return {
    dir,
    ledger,
    time,
    launcher,
    scheduler,
    logs,
    taskLines,
    events,
    async runs(taskId) {
      const rows = await ledger.listRunsBetween(0, Number.MAX_SAFE_INTEGER, { taskId });
      return rows.sort((a, b) => a.id - b.id);
    },
    async close() {
      // Runs stopped with no grace end on the fake clock's next turn.
      const stopping = scheduler.stop(0);
      await time.advance(0);
      await stopping;
      if (options.ownsLedger !== false) {
        await ledger.close();
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

const MINUTE: ScheduleSpec = { kind: "every", unit: "minute", n: 1, offsetSec: 0 };

/** A loaded task as the catalog would hand it over (no bundle: the fake launcher runs nothing). */
export function task(id: string, options: { spec?: ScheduleSpec; meta?: Partial<ResolvedTaskMeta>; method?: string; methods?: string[] } = {}): LoadedTask {
  const spec = options.spec ?? MINUTE;
  const method = options.method ?? "run";
  const schedule: TaskSchedule = {
    id: `${id}#${method}`,
    method,
    spec,
    text: JSON.stringify(spec),
    zone: "UTC",
    window: {},
    fingerprint: JSON.stringify({ spec, zone: "UTC" }),
  };
  return {
    id,
    file: `/project/tasks/${id}.ts`,
    relFile: `tasks/${id}.ts`,
    meta: { ...TASK_META_DEFAULTS, title: id, ...options.meta },
    bundle: { path: `/project/data/cache/bundles/${id}.mjs`, hash: "h", inputs: [], bundleMs: 0 },
    schedules: [schedule],
    methods: options.methods ?? [method],
    warnings: [],
  };
}

export const every = (n: number, unit: "second" | "minute" | "hour"): ScheduleSpec => ({ kind: "every", unit, n, offsetSec: 0 });

export const S = 1000;
export const MIN = 60 * S;
/** 10:00:30 UTC: half-way through a minute, where the scheduler tests begin. */
export const T0 = Date.parse("2026-03-02T10:00:30.000Z");
/** An instant of that day, "10:01:59.800" (UTC). */
export const at = (hhmmss: string) => Date.parse(`2026-03-02T${hhmmss}${hhmmss.includes(".") ? "" : ".000"}Z`);

/**
 * Call at a test file's top: `make` opens a harness that is closed after the
 * test; `make.beside(b, a)` closes another on a's ledger too, before a.
 */
export function harnessPerTest() {
  let open: Harness[] = [];
  afterEach(async () => {
    for (const h of open.reverse()) await h.close();
    open = [];
  });
  const make = async (options: Parameters<typeof harness>[0]): Promise<Harness> => {
    const h = await harness(options);
    open.push(h);
    return h;
  };
  return Object.assign(make, { beside: (other: Harness, owner: Harness) => void open.splice(open.indexOf(owner) + 1, 0, other) });
}

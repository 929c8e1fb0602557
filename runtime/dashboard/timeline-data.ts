/**
 * What the timeline page draws for a span of time: the runs recorded in it,
 * the occurrences still to come (from the host's own schedule maths), and the
 * past occurrences that have no run at all (missed: the host was down, the
 * task paused, a catch-up ran only the latest). Pure: the caller reads the
 * ledger and the loaded schedules; `now` comes in.
 */
import type { ScheduleSpec } from "../schedule/schedule-spec.ts";
import type { ScheduleWindow } from "../schedule/next-run.ts";
import { occurrencesBetween } from "../schedule/occurrences-between.ts";
import type { RunRow } from "../store/ledger.ts";

export interface TimelineSchedule {
  id: string;
  taskId: string;
  spec: ScheduleSpec;
  zone: string;
  window: ScheduleWindow;
  /** The scheduler's next run (null: none, paused or disabled). */
  nextRun: number | null;
}

export interface TimelineRun {
  id: number;
  taskId: string;
  scheduleId: string | null;
  status: RunRow["status"];
  trigger: RunRow["trigger"];
  scheduledFor: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
}

export interface Timeline {
  from: string;
  to: string;
  now: string;
  runs: TimelineRun[];
  upcoming: Array<{ taskId: string; scheduleId: string; at: string }>;
  missed: Array<{ taskId: string; scheduleId: string; at: string }>;
  /** Some schedule had more occurrences in the span than are listed (a dense one, say every second). */
  truncated: boolean;
}

/** Occurrences listed per schedule and kind; a denser schedule is cut (and `truncated` set). */
export const OCCURRENCE_CAP = 1500;
/** An occurrence this recent may still be starting: not called missed yet. */
const SETTLE_MS = 5000;

/** The fields of a ledger run the timeline reads. */
export type TimelineRunRow = Pick<RunRow, "id" | "taskId" | "scheduleId" | "scheduledFor" | "startedAt" | "finishedAt" | "status" | "trigger" | "error">;

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());

/**
 * Where a run is drawn: at the occurrence it stands for (a backfill or catch-up run
 * too, however much later it ran; a manual run's is its start), else its start or end.
 */
export function runInstant(run: TimelineRunRow): number | null {
  return run.scheduledFor ?? run.startedAt ?? run.finishedAt;
}

/** How long a run ran (so far, for one still running). */
function durationOf(run: TimelineRunRow, now: number): number {
  return run.startedAt == null ? 0 : (run.finishedAt ?? now) - run.startedAt;
}

export function buildTimeline(input: { from: number; to: number; now: number; schedules: readonly TimelineSchedule[]; runs: readonly TimelineRunRow[] }): Timeline {
  const { from, to, now } = input;
  let truncated = false;
  const upcoming: Timeline["upcoming"] = [];
  const missed: Timeline["missed"] = [];
  const ran = new Set(input.runs.filter((r) => r.scheduleId != null && r.scheduledFor != null).map((r) => `${r.scheduleId}@${r.scheduledFor}`));
  // A schedule's misses count only from its first recorded run on: before it, the task may not have existed.
  const firstRun = new Map<string, number>();
  for (const run of input.runs) {
    if (run.scheduleId == null || run.scheduledFor == null) continue;
    firstRun.set(run.scheduleId, Math.min(firstRun.get(run.scheduleId) ?? Infinity, run.scheduledFor));
  }
  for (const s of input.schedules) {
    if (s.nextRun != null && s.nextRun < to) {
      const list = s.nextRun >= from ? [s.nextRun] : [];
      list.push(...occurrencesBetween(s.spec, Math.max(s.nextRun, from - 1), to - 1, s.zone, s.window, OCCURRENCE_CAP + 1));
      truncated ||= list.length > OCCURRENCE_CAP;
      for (const at of list.slice(0, OCCURRENCE_CAP)) upcoming.push({ taskId: s.taskId, scheduleId: s.id, at: new Date(at).toISOString() });
    }
    const since = firstRun.get(s.id);
    const until = Math.min(to - 1, now - SETTLE_MS);
    if (since === undefined || since >= until) continue;
    const past = occurrencesBetween(s.spec, Math.max(from - 1, since), until, s.zone, s.window, OCCURRENCE_CAP + 1);
    truncated ||= past.length > OCCURRENCE_CAP;
    // The next run itself is not missed yet (a run claimed a moment ago has no row listed).
    for (const at of past.slice(0, OCCURRENCE_CAP)) {
      if (!ran.has(`${s.id}@${at}`) && at !== s.nextRun) missed.push({ taskId: s.taskId, scheduleId: s.id, at: new Date(at).toISOString() });
    }
  }
  const runs = input.runs
    .filter((run) => {
      const at = runInstant(run);
      return at != null && at < to && at + durationOf(run, now) >= from;
    })
    .map((run) => ({
      id: run.id,
      taskId: run.taskId,
      scheduleId: run.scheduleId,
      status: run.status,
      trigger: run.trigger,
      scheduledFor: iso(run.scheduledFor),
      startedAt: iso(run.startedAt),
      finishedAt: iso(run.finishedAt),
      error: run.error,
    }));
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), now: new Date(now).toISOString(), runs, upcoming, missed, truncated };
}

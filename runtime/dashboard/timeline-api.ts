import { Hono, type Context } from "hono";
import type { TaskCatalog } from "../host/task-catalog.ts";
import type { Scheduler } from "../scheduler/scheduler.ts";
import { taskhostError } from "../errors.ts";
import { guarded } from "./dashboard-api.ts";
import { buildTimeline, type TimelineRunRow, type TimelineSchedule } from "./timeline-data.ts";

export interface TimelineApiContext {
  catalog: TaskCatalog;
  scheduler: Scheduler;
  /** The ledger's runs whose occurrence (or start) falls in [from, to). */
  runsBetween(from: number, to: number, taskId?: string): Promise<TimelineRunRow[]>;
  now?: () => number;
}

/** The longest span one request may cover (a month of an every-minute task is already 43,200 blocks). */
const MAX_SPAN_MS = 35 * 24 * 3600_000;

function instant(c: Context, name: string): number {
  const raw = c.req.query(name) ?? "";
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(ms)) throw taskhostError("ERR_BAD_REQUEST", `timeline: ${name} must be an ISO date-time or epoch milliseconds, got ${JSON.stringify(raw)}`);
  return ms;
}

/** `GET /api/timeline?from=…&to=…[&task=…]`: runs, upcoming and missed occurrences of the span. */
export function timelineRoutes(context: TimelineApiContext): Hono {
  const api = new Hono();
  api.get("/api/timeline", guarded(async (c) => {
    const from = instant(c, "from");
    const to = instant(c, "to");
    if (to <= from || to - from > MAX_SPAN_MS) throw taskhostError("ERR_BAD_REQUEST", "timeline: to must be after from, and at most 35 days later");
    const only = c.req.query("task") || undefined;
    const schedules: TimelineSchedule[] = [];
    for (const entry of context.catalog.entries.values()) {
      const task = entry.loaded;
      if (!task || (only && task.id !== only)) continue;
      const active = task.meta.enabled && !context.scheduler.isPaused(task.id);
      for (const s of task.schedules) {
        schedules.push({ id: s.id, taskId: task.id, spec: s.spec, zone: s.zone, window: s.window, nextRun: active ? context.scheduler.nextRunOf(s.id) : null });
      }
    }
    const runs = await context.runsBetween(from, to, only);
    return c.json(buildTimeline({ from, to, now: (context.now ?? Date.now)(), schedules, runs }));
  }));
  return api;
}

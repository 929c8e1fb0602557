import type { Scheduler } from "../scheduler/scheduler.ts";
import type { RunEndInfo, RunEventInfo } from "../scheduler/scheduler-types.ts";
import type { TaskCatalog, TaskEntry } from "../host/task-catalog.ts";
import { iso, type RunJson } from "../host/report-shapes.ts";

/** One message of the event stream: `event` is the SSE event name, `data` its JSON. */
export interface DashboardEvent {
  event: "run.start" | "run.end" | "task.reloaded" | "task.removed" | "task.changed";
  data: Record<string, unknown>;
}

export type EventListener = (event: DashboardEvent) => void;

/** How often the catalog is compared with what listeners last saw (only while someone listens). */
const CATALOG_POLL_MS = 500;

interface EntrySeen {
  loaded: unknown;
  error: string | null;
  installing: boolean;
  paused: boolean;
  title: string;
}

/**
 * Fans the host's events out to the dashboard's event streams: runs starting and
 * ending (from the scheduler), and tasks reloading, breaking, pausing or going
 * away (noticed by comparing the catalog with what was last seen, so reloads by
 * the file watcher, `taskhost pause` over the socket and config reloads all show).
 */
export class DashboardEvents {
  private readonly listeners = new Set<EventListener>();
  private seen = new Map<string, EntrySeen>();
  private poll: NodeJS.Timeout | null = null;
  private readonly onStart = (info: RunEventInfo & { startedAt: number }) =>
    this.emit({ event: "run.start", data: { ...runInfo(info), startedAt: iso(info.startedAt), status: "running" } });
  private readonly onEnd = (info: RunEndInfo) => this.emit({ event: "run.end", data: { ...runEndJson(info) } });

  constructor(
    private readonly scheduler: Scheduler,
    private readonly catalog: TaskCatalog,
  ) {}

  subscribe(listener: EventListener): () => void {
    if (this.listeners.size === 0) this.attach();
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.detach();
    };
  }

  close(): void {
    this.listeners.clear();
    this.detach();
  }

  private attach(): void {
    this.scheduler.on("run.start", this.onStart);
    this.scheduler.on("run.end", this.onEnd);
    this.seen = this.snapshot();
    this.poll = setInterval(() => this.compare(), CATALOG_POLL_MS);
    this.poll.unref();
  }

  private detach(): void {
    this.scheduler.off("run.start", this.onStart);
    this.scheduler.off("run.end", this.onEnd);
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
  }

  private emit(event: DashboardEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private snapshot(): Map<string, EntrySeen> {
    const out = new Map<string, EntrySeen>();
    for (const entry of this.catalog.entries.values()) out.set(entry.id, seenOf(entry, this.scheduler.isPaused(entry.id)));
    return out;
  }

  private compare(): void {
    const now = this.snapshot();
    for (const [id, was] of this.seen) {
      if (!now.has(id)) this.emit({ event: "task.removed", data: { taskId: id } });
    }
    for (const [id, is] of now) {
      const was = this.seen.get(id);
      if (!was || was.loaded !== is.loaded) {
        this.emit({ event: "task.reloaded", data: { taskId: id, title: is.title, error: is.error } });
      } else if (was.error !== is.error || was.installing !== is.installing || was.paused !== is.paused || was.title !== is.title) {
        this.emit({ event: "task.changed", data: { taskId: id, title: is.title, error: is.error, paused: is.paused, installing: is.installing } });
      }
    }
    this.seen = now;
  }
}

function seenOf(entry: TaskEntry, paused: boolean): EntrySeen {
  return { loaded: entry.loaded, error: entry.error, installing: entry.installing, paused, title: entry.title };
}

function runInfo(info: RunEventInfo) {
  return {
    id: info.runId,
    taskId: info.taskId,
    scheduleId: info.scheduleId,
    scheduledFor: iso(info.scheduledFor),
    attempt: info.attempt,
    trigger: info.trigger,
  };
}

/** A finished run in the shape of the API's runs (contract §7 `history --json`). */
function runEndJson(info: RunEndInfo): RunJson {
  return {
    ...runInfo(info),
    startedAt: iso(info.startedAt),
    finishedAt: iso(info.finishedAt),
    durationMs: info.startedAt != null ? info.finishedAt - info.startedAt : null,
    status: info.status,
    error: info.error,
    output: info.output,
  };
}

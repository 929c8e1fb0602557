import type { Scheduler } from "../scheduler/scheduler.ts";
import type { RunEndInfo, RunEventInfo } from "../scheduler/scheduler-types.ts";
import { shownError, type TaskCatalog, type TaskEntry } from "../host/task-catalog.ts";
import { iso, type RunJson } from "../host/report-shapes.ts";

/** One message of the event stream: `event` is the SSE event name, `data` its JSON. */
export interface DashboardEvent {
  event: "run.start" | "run.end" | "task.reloaded" | "task.removed" | "task.changed";
  data: Record<string, unknown>;
}

export type EventListener = (event: DashboardEvent) => void;

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
 * away (from the catalog and the scheduler, whoever caused it: the file watcher,
 * `taskhost pause` over the socket, a config reload). Only what changed since a
 * listener last heard of a task is sent.
 */
export class DashboardEvents {
  private readonly listeners = new Set<EventListener>();
  private seen = new Map<string, EntrySeen>();
  private readonly onStart = (info: RunEventInfo & { startedAt: number }) =>
    this.emit({ event: "run.start", data: { ...runInfo(info), startedAt: iso(info.startedAt), status: "running" } });
  private readonly onEnd = (info: RunEndInfo) => this.emit({ event: "run.end", data: { ...runEndJson(info) } });
  private readonly onChanged = (entry: TaskEntry) => this.compare(entry.id);
  private readonly onPaused = ({ taskId }: { taskId: string }) => this.compare(taskId);
  private readonly onRemoved = (id: string) => {
    if (this.seen.delete(id)) this.emit({ event: "task.removed", data: { taskId: id } });
  };

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

  /** Safe to call twice. */
  close(): void {
    this.listeners.clear();
    this.detach();
  }

  private attach(): void {
    this.scheduler.on("run.start", this.onStart);
    this.scheduler.on("run.end", this.onEnd);
    this.scheduler.on("task.paused", this.onPaused);
    this.catalog.on("entry.changed", this.onChanged);
    this.catalog.on("entry.removed", this.onRemoved);
    this.seen = new Map();
    for (const entry of this.catalog.entries.values()) this.seen.set(entry.id, seenOf(entry, this.scheduler.isPaused(entry.id)));
  }

  private detach(): void {
    this.scheduler.off("run.start", this.onStart);
    this.scheduler.off("run.end", this.onEnd);
    this.scheduler.off("task.paused", this.onPaused);
    this.catalog.off("entry.changed", this.onChanged);
    this.catalog.off("entry.removed", this.onRemoved);
  }

  private emit(event: DashboardEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private compare(id: string): void {
    const entry = this.catalog.get(id);
    if (!entry) return;
    const is = seenOf(entry, this.scheduler.isPaused(id));
    const was = this.seen.get(id);
    this.seen.set(id, is);
    if (!was || was.loaded !== is.loaded) {
      this.emit({ event: "task.reloaded", data: { taskId: id, title: is.title, error: is.error } });
    } else if (was.error !== is.error || was.installing !== is.installing || was.paused !== is.paused || was.title !== is.title) {
      this.emit({ event: "task.changed", data: { taskId: id, title: is.title, error: is.error, paused: is.paused, installing: is.installing } });
    }
  }
}

function seenOf(entry: TaskEntry, paused: boolean): EntrySeen {
  return { loaded: entry.loaded, error: shownError(entry), installing: entry.installing, paused, title: entry.title };
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

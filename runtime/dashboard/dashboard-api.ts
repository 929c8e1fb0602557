import { Hono, type Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { HostOperations } from "../host/host-operations.ts";
import type { StatusJson } from "../host/report-shapes.ts";
import { runJson } from "../host/report-shapes.ts";
import type { Ledger } from "../store/ledger.ts";
import type { Scheduler } from "../scheduler/scheduler.ts";
import type { HostLog } from "../scheduler/scheduler-types.ts";
import type { DashboardEvents } from "./dashboard-events.ts";
import type { TaskCatalog } from "../host/task-catalog.ts";

export interface ApiContext {
  ops: HostOperations;
  ledger: Ledger;
  scheduler: Scheduler;
  events: DashboardEvents;
  catalog: TaskCatalog;
  status(): Promise<StatusJson>;
  log: HostLog;
  /** Resolves when the dashboard closes: event streams end then. */
  closing: Promise<void>;
}

/** A page of runs is at most this long. */
const MAX_PAGE = 200;
const KEEPALIVE_MS = 15_000;

type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 500 | 503;

/** HTTP status of the error codes the routes' operations throw. */
const STATUS_OF_CODE: Record<string, ErrorStatus> = {
  ERR_UNKNOWN_TASK: 404,
  ERR_UNKNOWN_METHOD: 400,
  ERR_METHOD_AMBIGUOUS: 400,
  ERR_TASK_LOAD: 409,
  ERR_TASK_INSTALLING: 409,
  ERR_SCHEDULER_STOPPED: 503,
  // what the forms send: the reason goes beside the field the body names
  ERR_BAD_REQUEST: 400,
  ERR_BAD_FLAGS: 400,
  ERR_SCHEDULE_INVALID: 400,
  ERR_TIMEZONE_INVALID: 400,
  ERR_TASK_FRONTMATTER: 400,
  ERR_TASK_NODE_VERSION: 400,
  ERR_TASK_OUTSIDE_DIR: 400,
  ERR_NOT_FOUND: 404,
  ERR_CONFLICT: 409,
  ERR_PAYLOAD_TOO_LARGE: 413,
};

/** The code of an error that did not come with its own (every error body has one, for scripts). */
const CODE_OF_STATUS: Record<ErrorStatus, string> = {
  400: "ERR_BAD_REQUEST",
  401: "ERR_UNAUTHORIZED",
  403: "ERR_FORBIDDEN",
  404: "ERR_NOT_FOUND",
  405: "ERR_METHOD_NOT_ALLOWED",
  409: "ERR_CONFLICT",
  413: "ERR_PAYLOAD_TOO_LARGE",
  500: "ERR_INTERNAL",
  503: "ERR_UNAVAILABLE",
};

export function errorJson(c: Context, status: ErrorStatus, message: string, code?: string, field?: string) {
  return c.json({ error: message, code: code ?? CODE_OF_STATUS[status], ...(field ? { field } : {}) }, status);
}

/** The error body of a thrown error: its code's status, and the form `field` it names, if any. */
export function failed(c: Context, error: unknown) {
  const { code, field } = (error ?? {}) as { code?: unknown; field?: unknown };
  const message = inApiWords(error instanceof Error ? error.message : String(error));
  const status = typeof code === "string" ? STATUS_OF_CODE[code] : undefined;
  return errorJson(c, status ?? 500, message, typeof code === "string" ? code : undefined, typeof field === "string" ? field : undefined);
}

/** The operations' messages speak to the command line; the same advice, as the API takes it. */
function inApiWords(message: string): string {
  return message
    .replace(/^taskhost: /, "")
    .replace(/see `taskhost status` for the task ids/g, "see GET /api/status for the task ids")
    .replace(/name one as \S+#<method>/g, "name one with ?method=<name>");
}

/** A route whose thrown errors become error bodies; one without a code (a bug) is also logged. */
export function guarded(handler: (c: Context) => Promise<Response>, log?: HostLog) {
  return async (c: Context) => {
    try {
      return await handler(c);
    } catch (error) {
      if (typeof (error as { code?: unknown } | null)?.code !== "string") {
        log?.error({ event: "dashboard.error", err: error, path: c.req.path }, `dashboard ${c.req.method} ${c.req.path}: ${String(error)}`);
      }
      return failed(c, error);
    }
  };
}

function intQuery(c: Context, name: string): number | undefined {
  const raw = c.req.query(name);
  if (raw == null || raw === "") return undefined;
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

const TASK_ACTIONS = ["runs", "run", "pause", "resume"] as const;
type TaskAction = (typeof TASK_ACTIONS)[number] | "show";

/**
 * `/api/tasks/<id>[/<action>]`. Task ids hold `/` (`reports/daily`): clients
 * should encode it (`reports%2Fdaily`), but a plain `/` works too, unless the
 * id itself ends in one of the action names.
 */
function taskRoute(c: Context, known: (id: string) => boolean): { id: string; action: TaskAction } {
  const rest = new URL(c.req.url).pathname.slice("/api/tasks/".length);
  const slash = rest.lastIndexOf("/");
  const tail = rest.slice(slash + 1) as TaskAction;
  const decode = (raw: string) => {
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  };
  if (slash > 0 && (TASK_ACTIONS as readonly string[]).includes(tail) && (!known(decode(rest)) || rest.includes("%2F"))) {
    return { id: decode(rest.slice(0, slash)), action: tail };
  }
  return { id: decode(rest), action: "show" };
}

/**
 * The JSON API (every route here sits behind the token check) and the event
 * stream. Shapes follow contract §7: tasks as in `status --json`, runs as in
 * `history --json`.
 */
export function apiRoutes(context: ApiContext): Hono {
  const { ops, ledger, events, log, catalog } = context;
  const api = new Hono();
  const task = async (id: string) => {
    const found = (await context.status()).tasks.find((t) => t.id === id);
    if (!found) await ops.knownTask(id); // a removed task the ledger still knows: no state, history kept
    return found ?? { id, state: null, removed: true };
  };
  const taskActions: Record<TaskAction, { method: "GET" | "POST"; handle: (c: Context, id: string) => Promise<Response> }> = {
    show: { method: "GET", handle: async (c, id) => c.json(await task(id)) },
    runs: {
      method: "GET",
      handle: async (c, id) => c.json(await ops.history(id, { limit: Math.min(intQuery(c, "limit") ?? 50, MAX_PAGE), before: intQuery(c, "before") })),
    },
    run: {
      method: "POST",
      handle: async (c, id) => {
        const { runId, done } = await ops.startRun(id, c.req.query("method") || undefined);
        const wait = c.req.query("wait");
        if (wait === "1" || wait === "true") return c.json(await done);
        done.catch((error: unknown) => log.warn({ event: "dashboard.run.failed", taskId: id, err: error }, `manual run of ${id}: ${String(error)}`));
        return c.json({ accepted: true, taskId: id, runId }, 202);
      },
    },
    pause: { method: "POST", handle: async (c, id) => c.json(await ops.setPaused(id, true)) },
    resume: { method: "POST", handle: async (c, id) => c.json(await ops.setPaused(id, false)) },
  };

  api.get("/api/status", guarded(async (c) => c.json(await context.status())));
  api.get("/api/health", guarded(async (c) => {
    const { host, tasks } = await context.status();
    return c.json({ ...host, runningRuns: context.scheduler.runningCount, tasks: tasks.length, taskErrors: tasks.filter((t) => t.state === "error").length });
  }));
  api.get("/api/tasks", guarded(async (c) => c.json((await context.status()).tasks)));
  api.on(["GET", "POST"], "/api/tasks/*", guarded(async (c) => {
    const { id, action } = taskRoute(c, (candidate) => catalog.get(candidate) != null);
    const route = taskActions[action];
    if (c.req.method !== route.method) return errorJson(c, 405, `${action === "show" ? "a task" : action} takes ${route.method}`);
    return route.handle(c, id);
  }));
  api.get("/api/runs/:runId{[0-9]+}", guarded(async (c) => {
    const row = await ledger.getRun(Number(c.req.param("runId")));
    return row ? c.json(runJson(row)) : errorJson(c, 404, `no run ${c.req.param("runId")}`);
  }));
  api.post("/api/schedules/:id{.+}/reset", guarded(async (c) => {
    const scheduleId = c.req.param("id") ?? "";
    const resets = await ops.resetSchedules({ scheduleIds: [scheduleId], dryRun: c.req.query("dryRun") === "true" });
    if (resets.length === 0) return errorJson(c, 404, `no schedule "${scheduleId}" is scheduled on this host`);
    return c.json(resets.map((r) => ({ ...r, before: r.before == null ? null : new Date(r.before).toISOString(), after: r.after == null ? null : new Date(r.after).toISOString() })));
  }));
  api.get("/api/events", (c) =>
    streamSSE(c, async (stream) => {
      const queue: Promise<void>[] = [];
      const unsubscribe = events.subscribe((e) => {
        queue.push(stream.writeSSE({ event: e.event, data: JSON.stringify(e.data) }).catch(() => {}));
        if (queue.length > 64) void Promise.all(queue.splice(0));
      });
      const keepalive = setInterval(() => void stream.write(": keep-alive\n\n").catch(() => {}), KEEPALIVE_MS);
      try {
        await stream.writeSSE({ event: "ready", data: JSON.stringify({ serverTime: new Date().toISOString() }), retry: 2000 });
        await new Promise<void>((resolve) => {
          stream.onAbort(resolve);
          void context.closing.then(resolve);
        });
      } finally {
        clearInterval(keepalive);
        unsubscribe();
      }
    }),
  );
  api.all("/api/*", (c) => errorJson(c, 404, `no route ${c.req.method} ${c.req.path}`));
  return api;
}

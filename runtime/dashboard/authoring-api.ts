import { Hono, type Context } from "hono";
import type { TaskAuthoring } from "../authoring/task-authoring.ts";
import type { TaskFormInput } from "../authoring/task-draft.ts";
import type { FieldValue } from "../authoring/edit-frontmatter.ts";
import type { HostLog } from "../scheduler/scheduler-types.ts";
import { messageOf, taskhostError } from "../errors.ts";
import { guarded as guard } from "./dashboard-api.ts";

export interface AuthoringApiContext {
  authoring: TaskAuthoring;
  /** A task file was written, moved to the trash or restored: load or unload it now (hot reload may be off). */
  changed(id: string): Promise<void>;
  log: HostLog;
}

async function body<T>(c: Context): Promise<T> {
  const parsed: unknown = await c.req.json().catch(() => undefined);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw taskhostError("ERR_BAD_REQUEST", "send a JSON object (Content-Type: application/json)");
  }
  return parsed as T;
}

function taskId(c: Context): string {
  const id = c.req.query("id");
  if (!id) throw taskhostError("ERR_BAD_REQUEST", "name the task: ?id=<task id>");
  return id;
}

/**
 * Creating, editing, deleting and restoring task files from the dashboard.
 * These routes sit behind the token check; their POSTs, like every POST, must
 * come from the dashboard's own page when they ride on the session cookie.
 */
export function authoringRoutes(context: AuthoringApiContext): Hono {
  const { authoring } = context;
  const api = new Hono();
  const guarded = (handler: (c: Context) => Promise<Response>) => guard(handler, context.log);
  const reload = (id: string) => {
    context.changed(id).catch((error: unknown) => context.log.error({ event: "dashboard.reload.failed", taskId: id, err: error }, `reloading ${id}: ${messageOf(error)}`));
  };

  api.get("/api/authoring/scripts", guarded(async (c) => c.json(await authoring.scripts())));
  api.post("/api/authoring/preview", guarded(async (c) => {
    const request = await body<{ schedule?: unknown; cron?: unknown; every?: unknown; timezone?: unknown; start?: unknown; end?: unknown; count?: unknown }>(c);
    const text = (value: unknown) => (typeof value === "string" ? value : null);
    return c.json(authoring.preview({
      schedule: request.schedule,
      cron: request.cron,
      every: request.every,
      timezone: text(request.timezone),
      start: text(request.start),
      end: text(request.end),
      count: typeof request.count === "number" ? request.count : undefined,
    }));
  }));
  api.post("/api/authoring/tasks", guarded(async (c) => {
    const doc = await authoring.create(await body<TaskFormInput>(c));
    reload(doc.id);
    return c.json(doc, 201);
  }));
  api.get("/api/authoring/task", guarded(async (c) => c.json(await authoring.show(taskId(c)))));
  api.post("/api/authoring/task/edit", guarded(async (c) => {
    const id = taskId(c);
    const edit = await body<{ version?: unknown; fields?: Record<string, FieldValue>; schedules?: Record<string, string> }>(c);
    if (typeof edit.version !== "string") throw taskhostError("ERR_BAD_REQUEST", "send the version the page loaded");
    const doc = await authoring.edit(id, edit.version, { fields: edit.fields ?? {}, schedules: edit.schedules ?? {} });
    reload(id);
    return c.json(doc);
  }));
  api.post("/api/authoring/task/delete", guarded(async (c) => {
    const id = taskId(c);
    const { version } = await body<{ version?: unknown }>(c);
    if (typeof version !== "string") throw taskhostError("ERR_BAD_REQUEST", "send the version the page loaded");
    const trashed = await authoring.remove(id, version);
    reload(id);
    return c.json(trashed);
  }));
  api.get("/api/authoring/trash", guarded(async (c) => c.json(await authoring.trash())));
  api.post("/api/authoring/trash/restore", guarded(async (c) => {
    const { name } = await body<{ name?: unknown }>(c);
    if (typeof name !== "string") throw taskhostError("ERR_BAD_REQUEST", "name the deleted file to restore");
    const doc = await authoring.restore(name);
    reload(doc.id);
    return c.json(doc);
  }));
  return api;
}

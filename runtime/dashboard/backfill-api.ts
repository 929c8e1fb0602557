import { Hono } from "hono";
import type { Backfills } from "../backfill/backfills.ts";
import { backfillRequest } from "../backfill/backfill-control.ts";
import { guarded } from "./dashboard-api.ts";

/**
 * Backfills from the dashboard: `POST /api/backfills` ({target, from, to, max,
 * dryRun}) plans one (and starts it unless dryRun); `GET /api/backfills[/<id>]`
 * reports them as they go; `POST /api/backfills/<id>/cancel` stops one after
 * the run in flight.
 */
export function backfillRoutes(backfills: Backfills): Hono {
  const api = new Hono();
  api.post("/api/backfills", guarded(async (c) => {
    const body: unknown = await c.req.json().catch(() => null);
    const job = await backfills.start(backfillRequest(typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {}));
    return c.json(job, job.state === "running" ? 201 : 200);
  }));
  api.get("/api/backfills", guarded(async (c) => {
    const task = c.req.query("task");
    return c.json(backfills.list().filter((job) => !task || job.taskId === task));
  }));
  api.get("/api/backfills/:id{[\\w-]+}", guarded(async (c) => c.json(backfills.get(c.req.param("id") ?? ""))));
  api.post("/api/backfills/:id{[\\w-]+}/cancel", guarded(async (c) => c.json(await backfills.cancel(c.req.param("id") ?? ""))));
  return api;
}

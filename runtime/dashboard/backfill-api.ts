import { Hono } from "hono";
import type { Backfills } from "../backfill/backfills.ts";
import { backfillRequest } from "../backfill/backfill-control.ts";
import { guarded } from "./dashboard-api.ts";
import { taskhostError } from "../errors.ts";

/**
 * Backfills from the dashboard: `POST /api/backfills` ({target, from, to, max,
 * dryRun}, or `?dryRun=true` as for resets) plans one and starts it (201), or
 * only plans it (200, `dryRun: true`: nothing is saved); `GET /api/backfills[/<id>]`
 * reports them as they go; `POST /api/backfills/<id>/cancel` stops one after
 * the run in flight.
 */
export function backfillRoutes(backfills: Backfills): Hono {
  const api = new Hono();
  api.post("/api/backfills", guarded(async (c) => {
    const body: unknown = await c.req.json().catch(() => null);
    const request = backfillRequest(typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {});
    const query = c.req.query("dryRun");
    if (query !== undefined && query !== "true" && query !== "false") {
      throw taskhostError("ERR_BAD_REQUEST", `backfill: ?dryRun must be true or false, got ${JSON.stringify(query)}`, { field: "dryRun" });
    }
    // Either way of asking for a plan only is enough: a backfill never starts by mistake.
    const job = await backfills.start({ ...request, dryRun: request.dryRun === true || query === "true" });
    return c.json(job, job.state === "running" && !job.dryRun ? 201 : 200);
  }));
  api.get("/api/backfills", guarded(async (c) => {
    const task = c.req.query("task");
    return c.json(backfills.list().filter((job) => !task || job.taskId === task));
  }));
  api.get("/api/backfills/:id{[\\w-]+}", guarded(async (c) => c.json(backfills.get(c.req.param("id") ?? ""))));
  api.post("/api/backfills/:id{[\\w-]+}/cancel", guarded(async (c) => c.json(await backfills.cancel(c.req.param("id") ?? ""))));
  return api;
}

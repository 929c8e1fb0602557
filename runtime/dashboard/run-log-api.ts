import { Hono } from "hono";
import type { RunLogFiles } from "../run-logs/run-log-files.ts";
import type { TimelineRunRow } from "./timeline-data.ts";
import { errorJson } from "./dashboard-api.ts";

export interface RunLogApiContext {
  files: RunLogFiles;
  getRun(id: number): Promise<(TimelineRunRow & { output: string }) | undefined>;
}

/**
 * `GET /api/runs/<id>/log`: the run's whole output as text (the dashboard links
 * it from a run). A run without a log file answers with the ledger's excerpt,
 * saying so on its first line.
 */
export function runLogRoutes(context: RunLogApiContext): Hono {
  const api = new Hono();
  api.get("/api/runs/:runId{[0-9]+}/log", async (c) => {
    const id = Number(c.req.param("runId"));
    const run = await context.getRun(id);
    if (!run) return errorJson(c, 404, `no run ${id} (pruned runs lose their logs)`);
    const text =
      (await context.files.read(run.taskId, id)) ??
      (run.status === "skipped"
        ? `(run ${id} was skipped: ${run.error ?? "no reason recorded"}; it has no output)\n`
        : `(run ${id} has no log file: it printed nothing, or ran before run logs were kept; the ledger's excerpt follows)\n${run.output}`);
    return c.body(text, 200, {
      "Content-Type": "text/plain; charset=utf-8",
      "Content-Disposition": `inline; filename="${run.taskId.replace(/\//g, "_")}-${id}.log"`,
      "Cache-Control": "no-cache",
    });
  });
  return api;
}

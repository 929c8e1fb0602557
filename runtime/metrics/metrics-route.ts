import { timingSafeEqual } from "node:crypto";
import type { Hono } from "hono";
import type { HostMetrics } from "./host-metrics.ts";

export interface MetricsRouteOptions {
  /** Null while metrics.enabled is false (a reload may switch them on and off). */
  metrics(): HostMetrics | null;
  /** `metrics.token`, else the dashboard's token; read per request so a reload applies at once. */
  token(): string;
  /** Which of the two it is (for the refusal's message). */
  tokenKey(): "metrics.token" | "dashboard.token";
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * GET /metrics in the Prometheus text format, for `Authorization: Bearer
 * <token>` only (Prometheus' `authorization` / `bearer_token` scrape setting).
 * Mounted before the dashboard's own login check: a scraper has no session.
 */
export function mountMetrics(app: Hono, options: MetricsRouteOptions): void {
  app.get("/metrics", async (c) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match || !same(match[1]!.trim(), options.token())) {
      c.header("WWW-Authenticate", 'Bearer realm="taskhost metrics"');
      const which = options.tokenKey() === "metrics.token" ? "metrics.token (the dashboard's token is not accepted here while metrics.token is set)" : "the dashboard's token (dashboard.token, or set metrics.token for scrapers)";
      return c.json({ error: `send Authorization: Bearer <${which}>`, code: "ERR_UNAUTHORIZED" }, 401);
    }
    const metrics = options.metrics();
    if (!metrics) return c.json({ error: "metrics are off: set metrics.enabled: true in config/config.yaml", code: "ERR_NOT_FOUND" }, 404);
    return c.body(await metrics.text(), 200, { "Content-Type": metrics.contentType, "Cache-Control": "no-store" });
  });
}

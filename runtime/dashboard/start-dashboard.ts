import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Hono, type Context } from "hono";
import type { ResolvedConfig } from "../config/config-options.ts";
import { isLoopbackHost } from "../config/resolve-config.ts";
import { DASHBOARD_TOKEN_ENV } from "../config/config-options.ts";
import type { HostOperationsContext } from "../host/host-operations.ts";
import { hostOperations } from "../host/host-operations.ts";
import type { StatusJson } from "../host/report-shapes.ts";
import type { HostLog } from "../scheduler/scheduler-types.ts";
import { DashboardAuth, fromSameOrigin, generatedToken } from "./dashboard-auth.ts";
import { DashboardEvents } from "./dashboard-events.ts";
import { apiRoutes, errorJson, guarded } from "./dashboard-api.ts";
import { taskhostError } from "../errors.ts";
import { requestBodyLimit } from "./request-body-limit.ts";
import type { HostMetrics } from "../metrics/host-metrics.ts";
import { mountMetrics } from "../metrics/metrics-route.ts";
import { alertJson } from "../alerts/alert-json.ts";
import type { AlertRow } from "../store/ledger.ts";
import { authoringRoutes } from "./authoring-api.ts";
import { timelineRoutes } from "./timeline-api.ts";
import { runLogRoutes } from "./run-log-api.ts";
import { RunLogFiles, runLogRoot } from "../run-logs/run-log-files.ts";
import { backfillRoutes } from "./backfill-api.ts";
import type { Backfills } from "../backfill/backfills.ts";
import { TaskAuthoring } from "../authoring/task-authoring.ts";

export interface DashboardOptions extends HostOperationsContext {
  /** The live configuration: host and port are read at start, the token on every request. */
  config(): ResolvedConfig;
  /** The configuration to start on, when it is not yet the live one (a reload builds the new server first). */
  startOn?: ResolvedConfig;
  /** The host's data directory (for the generated token file). */
  dataDir: string;
  status(): Promise<StatusJson>;
  log: HostLog;
  /** GET /metrics, while there are metrics (metrics.enabled); the server also starts for it alone, with the page off. */
  metrics?: () => HostMetrics | null;
  /** Recent alerts and channel health for GET /api/alerts. */
  alerting?: { channels(): unknown[]; listAlerts(options: { limit?: number; taskId?: string }): Promise<AlertRow[]> };
  /** Backfills, when the host runs them. */
  backfills?: Backfills;
}

export interface Dashboard {
  /** e.g. http://127.0.0.1:8787/ (the real port when the config said 0). */
  readonly url: string;
  close(): Promise<void>;
}

const PUBLIC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "public");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
};

function asset(name: string): { body: string; type: string } {
  return { body: readFileSync(path.join(PUBLIC_DIR, name), "utf8"), type: TYPES[path.extname(name)]! };
}

/** The one HTML shell (page.html) around a body fragment. */
function page(title: string, script: string, bodyFile: string): { body: string; type: string } {
  const fill: Record<string, string> = { title, script, body: asset(bodyFile).body };
  return { body: asset("page.html").body.replace(/\{\{(\w+)\}\}/g, (_, key: string) => fill[key]!), type: TYPES[".html"]! };
}

/**
 * Starts the dashboard: the page, its JSON API and event stream, on
 * `dashboard.host:dashboard.port`. Every route but `GET /healthz` and the login
 * page needs the token (Bearer header, or the session cookie the login sets);
 * a POST riding on the cookie must come from the dashboard's own origin.
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const startOn = options.startOn ?? options.config();
  const { host, port, enabled: pageOn } = startOn.dashboard;
  const configured = () => options.config().dashboard.token;
  const metricsToken = () => options.config().metrics.token;
  if (startOn.dashboard.token == null && (pageOn || startOn.metrics.token == null) && !isLoopbackHost(host)) {
    throw new Error(
      `dashboard: dashboard.host is ${JSON.stringify(host)} (not loopback) and no token is set; ` +
        `set dashboard.token or ${DASHBOARD_TOKEN_ENV}, or bind dashboard.host to 127.0.0.1`,
    );
  }
  const fallback = startOn.dashboard.token == null ? await generatedToken(options.dataDir) : null;
  // Read on each request, so a config reload that changes the token applies at once. A token
  // removed from the config while the dashboard runs locks it until the host restarts.
  const lockedOut = randomBytes(32).toString("hex");
  const token = () => configured() ?? fallback?.token ?? lockedOut;

  const pages = {
    app: page("taskhost", "/app.js", "app-body.html"),
    login: page("taskhost · log in", "/login.js", "login-body.html"),
    "app.js": asset("app.js"),
    "login.js": asset("login.js"),
    "style.css": asset("style.css"),
    "pages.css": asset("pages.css"),
    "favicon.svg": asset("favicon.svg"),
  };
  // Pages of their own (each a module on the app's shell) and the modules they share.
  const extraPages = {
    "/new": page("New task · taskhost", "/new-task.js", "app-body.html"),
    "/edit": page("Edit task · taskhost", "/edit-task.js", "app-body.html"),
    "/timeline": page("Timeline · taskhost", "/timeline.js", "app-body.html"),
    "/backfill": page("Backfill · taskhost", "/backfill.js", "app-body.html"),
  };
  const modules = Object.fromEntries(["dom.js", "host-banners.js", "task-form.js", "new-task.js", "edit-task.js", "timeline.js", "backfill.js"].map((name) => [name, asset(name)]));
  const send = (c: Context, page: { body: string; type: string }) =>
    c.body(page.body, 200, { "Content-Type": page.type, "Cache-Control": "no-cache" });

  let closed = false;
  let signalClosing = () => {};
  const closing = new Promise<void>((resolve) => (signalClosing = resolve));
  const events = new DashboardEvents(options.scheduler, options.catalog);
  let boundPort = port;
  const auth = new DashboardAuth(token, () => boundPort);
  const app = new Hono();

  app.use("*", async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value);
  });
  // Before any route reads a body, login included.
  app.use("*", requestBodyLimit((c) => auth.authOf(c) !== null));
  // Open to monitors: says only that the host answers.
  app.get("/healthz", (c) => c.json({ ok: true }));
  if (options.metrics) mountMetrics(app, { metrics: options.metrics, token: () => metricsToken() ?? token(), tokenKey: () => (metricsToken() != null ? "metrics.token" : "dashboard.token") });
  // Started for /metrics alone: nothing else answers.
  if (!pageOn) app.use("*", async (c) => errorJson(c, 404, "the dashboard is off (dashboard.enabled: false); this server only answers /metrics and /healthz"));
  app.get("/style.css", (c) => send(c, pages["style.css"]));
  app.get("/pages.css", (c) => send(c, pages["pages.css"]));
  app.get("/login.js", (c) => send(c, pages["login.js"]));
  app.get("/favicon.svg", (c) => send(c, pages["favicon.svg"]));
  app.get("/", (c) => send(c, auth.authOf(c) ? pages.app : pages.login));
  for (const [route, shell] of Object.entries(extraPages)) app.get(route, (c) => send(c, auth.authOf(c) ? shell : pages.login));
  app.post("/api/login", async (c) => {
    // Login CSRF: a page elsewhere must not log the browser into this dashboard.
    if (!fromSameOrigin(c, { requireOrigin: false })) return errorJson(c, 403, "cross-site login refused");
    const body = (await c.req.json().catch(() => null)) as { token?: unknown } | null;
    if (typeof body?.token !== "string" || !auth.checkToken(body.token.trim())) {
      await new Promise((resolve) => setTimeout(resolve, 300)); // slows guessing
      return errorJson(c, 401, "wrong token");
    }
    auth.startSession(c);
    return c.json({ ok: true });
  });
  app.post("/api/logout", (c) => {
    if (!fromSameOrigin(c, { requireOrigin: false })) return errorJson(c, 403, "cross-site request refused");
    auth.endSession(c);
    return c.json({ ok: true });
  });
  // Everything below needs the token.
  app.use("*", async (c, next) => {
    const kind = auth.authOf(c);
    if (!kind) {
      c.header("WWW-Authenticate", 'Bearer realm="taskhost"');
      return errorJson(c, 401, "log in, or send Authorization: Bearer <dashboard token>");
    }
    // A cookie rides along with any request the browser makes; a Bearer header only with the caller's own.
    if (c.req.method !== "GET" && c.req.method !== "HEAD" && kind === "cookie" && !fromSameOrigin(c, { requireOrigin: true })) {
      return errorJson(c, 403, "cross-site request refused");
    }
    await next();
  });
  app.get("/app.js", (c) => send(c, pages["app.js"]));
  for (const [name, module] of Object.entries(modules)) app.get(`/${name}`, (c) => send(c, module));
  app.get("/api/session", (c) => c.json({ ok: true }));
  const ops = hostOperations(options);
  app.get("/api/alerts", guarded(async (c) => {
    const rawLimit = c.req.query("limit");
    const limit = rawLimit === undefined ? 50 : Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1) throw taskhostError("ERR_BAD_REQUEST", `alerts: limit must be a positive whole number (at most 500 are listed), got ${JSON.stringify(rawLimit)}`);
    const taskId = c.req.query("task");
    if (taskId !== undefined) await ops.knownTask(taskId);
    const alerts = (await options.alerting?.listAlerts({ limit: Math.min(limit, 500), taskId })) ?? [];
    return c.json({ alerts: alerts.map(alertJson), channels: options.alerting?.channels() ?? [] });
  }, options.log));
  const live = options.config;
  const authoring = new TaskAuthoring({
    projectRoot: live().projectRoot,
    tasksDir: () => live().tasks.directory,
    scriptDirs: () => live().authoring.scriptDirs,
    defaultZone: () => live().scheduler.timezone,
  });
  const changed = async (id: string) => {
    const file = path.join(options.catalog.tasksDir, `${id}.ts`);
    // Hot reload may be off: the dashboard's own writes apply at once either way.
    if (existsSync(file) && options.catalog.isTask(file)) await options.catalog.load(file);
    else await options.catalog.remove(id);
  };
  app.route("/", authoringRoutes({ authoring, changed, log: options.log }));
  const runLogs = new RunLogFiles(() => runLogRoot(live().logging.directory), () => {});
  if (options.backfills) app.route("/", backfillRoutes(options.backfills));
  app.route("/", runLogRoutes({ files: runLogs, getRun: (id) => options.ledger.getRun(id) }));
  app.route("/", timelineRoutes({ catalog: options.catalog, scheduler: options.scheduler, runsBetween: (from, to, taskId) => options.ledger.listRunsBetween(from, to, { taskId }) }));
  app.route("/", apiRoutes({ ops, ledger: options.ledger, catalog: options.catalog, scheduler: options.scheduler, events, status: options.status, log: options.log, closing }));
  app.notFound((c) => errorJson(c, 404, `no route ${c.req.method} ${c.req.path}`));
  app.onError((error, c) => {
    options.log.error({ event: "dashboard.error", err: error, path: c.req.path }, `dashboard ${c.req.method} ${c.req.path}: ${error.message}`);
    return errorJson(c, 500, error.message);
  });

  // Loaded here, not at the host's start: most hosts run without a dashboard (~7 MB of RSS).
  const { createAdaptorServer } = await import("@hono/node-server");
  const server = createAdaptorServer({ fetch: app.fetch, hostname: host, port }) as Server;
  boundPort = await listenKeepingPort(server, host, port, options.dataDir);
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}/`;
  options.log.info(
    { event: "dashboard.start", url, host, port: address.port, tokenFile: fallback?.file ?? null },
    // With the page off the server answers /metrics (and /healthz) alone: say that, not "dashboard".
    `${pageOn ? `dashboard at ${url}` : `metrics at ${url}metrics (dashboard.enabled is false)`}${fallback ? ` (token in ${fallback.file})` : ""}`,
  );
  return {
    url,
    close: async () => {
      if (closed) return;
      closed = true;
      signalClosing();
      events.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Where the port picked for `dashboard.port: 0` is kept, so restarts keep it (and the sessions, whose cookie names it). */
const PORT_FILE = "dashboard-port";

async function listenKeepingPort(server: Server, host: string, port: number, dataDir: string): Promise<number> {
  if (port !== 0) return listen(server, host, port);
  const file = path.join(dataDir, PORT_FILE);
  const kept = Number.parseInt(await readFile(file, "utf8").catch(() => ""), 10);
  let bound: number | null = null;
  if (Number.isInteger(kept) && kept > 0 && kept < 65536) bound = await listen(server, host, kept).catch(() => null);
  bound ??= await listen(server, host, 0);
  if (bound !== kept) await writeFile(file, `${bound}\n`).catch(() => {});
  return bound;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const why = error.code === "EADDRINUSE" ? `port ${port} is in use` : error.code === "EADDRNOTAVAIL" ? `${host} is not an address of this machine` : error.message;
      reject(Object.assign(new Error(`dashboard: cannot listen on ${host}:${port}: ${why} (dashboard.host / dashboard.port)`), { cause: error }));
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

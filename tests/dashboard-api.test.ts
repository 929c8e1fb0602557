import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDashboardHost, TOKEN, type DashboardHost } from "./support/dashboard-host.ts";
import { waitFor } from "./support/wait-for.ts";
import type { RunJson, StatusJson, TaskJson } from "../runtime/host/report-shapes.ts";

const bearer = { Authorization: `Bearer ${TOKEN}` };

/** Reads server-sent events until `until` is satisfied or the time is up; returns what came. */
/** Reads the event stream until `until` holds; `onReady` runs once the stream is subscribed (its `ready` event). */
async function readEvents(
  url: string,
  headers: Record<string, string>,
  until: (events: Array<{ event: string; data: any }>) => boolean,
  onReady: () => unknown = () => {},
  timeoutMs = 20_000,
) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const events: Array<{ event: string; data: any }> = [];
  const response = await fetch(url, { headers, signal: controller.signal });
  expect(response.headers.get("content-type")).toContain("text/event-stream");
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    while (!until(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
        if (event === "ready") void onReady();
      }
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

describe("dashboard HTTP API against a running host", () => {
  let d: DashboardHost;
  const get = (path: string, headers: Record<string, string> = bearer) => fetch(d.base + path, { headers });
  const post = (path: string, headers: Record<string, string> = bearer) => fetch(d.base + path, { method: "POST", headers });
  const status = async () => (await body(get("/api/status"))) as StatusJson;
  const task = async (id: string) => (await status()).tasks.find((t) => t.id === id) as TaskJson;

  beforeAll(async () => {
    d = await startDashboardHost();
  });
  afterAll(async () => {
    await d?.project.cleanup();
  });

  it("needs the token everywhere but /healthz; Bearer and the login cookie both work", async () => {
    expect((await get("/healthz", {})).status).toBe(200);
    for (const path of ["/api/status", "/api/tasks", "/api/health", "/api/tasks/ticker/runs", "/api/events", "/app.js"]) {
      expect((await get(path, {})).status, path).toBe(401);
      expect((await get(path, { Authorization: "Bearer wrong" })).status, path).toBe(401);
    }
    expect((await post("/api/tasks/ticker/run", {})).status).toBe(401);
    // Every error body names a code scripts can test, not only a message.
    expect(await body(get("/api/status", {}))).toEqual({ error: expect.stringContaining("log in"), code: "ERR_UNAUTHORIZED" });
    // In the API's words: no "taskhost:" prefix, and the API route to look ids up, not a command.
    expect(await body(get("/api/tasks/nope"))).toEqual({ code: "ERR_UNKNOWN_TASK", error: 'no task "nope" (see GET /api/status for the task ids)' });
    // Without a session, / is the login page (no data in it).
    expect(await (await get("/", {})).text()).toContain('id="login"');

    const ok = await get("/api/status");
    expect(ok.status).toBe(200);
    const listed = (await ok.json()) as StatusJson;
    expect(listed.host).toMatchObject({ running: true, restarts: 0 });
    expect(listed.tasks.map((t) => t.id)).toEqual(["broken", "flaky", "reports/daily", "ticker"]);
    expect(listed.tasks.find((t) => t.id === "broken")).toMatchObject({ state: "error", error: expect.stringContaining("timeout") });

    const health = await body(get("/api/health"));
    expect(health).toMatchObject({ running: true, restarts: 0, tasks: 4, taskErrors: 1 });
    expect(health.uptimeSec).toBeGreaterThanOrEqual(0);
    expect(health.rssMb).toBeGreaterThan(0);

    const origin = { Origin: d.base, "Content-Type": "application/json" };
    const wrong = await fetch(`${d.base}/api/login`, { method: "POST", headers: origin, body: JSON.stringify({ token: "nope" }) });
    expect(wrong.status).toBe(401);
    const login = await fetch(`${d.base}/api/login`, { method: "POST", headers: origin, body: JSON.stringify({ token: TOKEN }) });
    expect(login.status).toBe(200);
    const setCookie = login.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    const cookie = { Cookie: setCookie.split(";")[0]! };
    expect((await get("/api/status", cookie)).status).toBe(200);
    expect(await (await get("/", cookie)).text()).toContain("/app.js");
    expect((await get("/api/status", { Cookie: `${setCookie.split("=")[0]}=123.forged` })).status).toBe(401);
  });

  it("refuses cross-site POSTs riding on the cookie; the Bearer webhook works from anywhere", async () => {
    const cookie = await cookieFor(d.base);
    const foreign = await post("/api/tasks/ticker/pause", { Cookie: cookie, Origin: "https://evil.example" });
    expect(foreign.status).toBe(403);
    expect((await post("/api/tasks/ticker/pause", { Cookie: cookie, Origin: d.base, "Sec-Fetch-Site": "cross-site" })).status).toBe(403);
    expect((await post("/api/tasks/ticker/pause", { Cookie: cookie })).status).toBe(403); // no Origin: not from our page
    expect((await task("ticker")).state).toBe("scheduled");
    const crossLogin = await fetch(`${d.base}/api/login`, {
      method: "POST",
      headers: { Origin: "https://evil.example", "Content-Type": "application/json" },
      body: JSON.stringify({ token: TOKEN }),
    });
    expect(crossLogin.status).toBe(403);

    // The webhook: an outside cron service with the token, from its own origin.
    const hook = await post("/api/tasks/reports%2Fdaily/run?wait=1", { ...bearer, Origin: "https://cron-job.example" });
    expect(hook.status).toBe(200);
    const run = (await hook.json()) as RunJson;
    expect(run).toMatchObject({ taskId: "reports/daily", status: "success", trigger: "manual" });
    expect(run.output).toContain("rows exported: 1234");
    const started = await post("/api/tasks/reports%2Fdaily/run");
    expect(started.status).toBe(202);
    // The id the caller gets is the run's row: it can be found in the task's runs and ends there.
    const { runId } = (await started.json()) as { runId: number };
    expect(runId).toBeGreaterThan(run.id);
    const ended = await waitFor(
      async () => (await body<{ runs: RunJson[] }>(get("/api/tasks/reports%2Fdaily/runs"))).runs.find((r) => r.id === runId && r.finishedAt),
      { what: `run ${runId} to finish` },
    );
    expect(ended).toMatchObject({ trigger: "manual", status: "success" });
    expect((await post("/api/tasks/nope/run")).status).toBe(404);
    expect((await post("/api/tasks/broken/run")).status).toBe(409);
    expect((await post("/api/tasks/ticker/run?method=nope")).status).toBe(400);
  });

  it("pause and resume show in the status; a schedule can be reset", async () => {
    expect((await post("/api/tasks/ticker/pause")).status).toBe(200);
    expect((await task("ticker")).state).toBe("paused");
    // The ledger keeps it: the CLI sees the same.
    expect((await d.project.json<StatusJson>(["status"])).tasks.find((t) => t.id === "ticker")!.state).toBe("paused");
    const resumed = await post("/api/tasks/ticker/resume", { Cookie: await cookieFor(d.base), Origin: d.base });
    expect(resumed.status).toBe(200);
    expect((await task("ticker")).state).toBe("scheduled");

    const reset = await post(`/api/schedules/${encodeURIComponent("reports/daily#start")}/reset`);
    expect(reset.status).toBe(200);
    const [row] = await body<Array<{ after: string }>>(reset);
    expect(row).toMatchObject({ scheduleId: "reports/daily#start", taskId: "reports/daily" });
    expect(Date.parse(row.after)).toBeGreaterThan(Date.now());
    expect((await post(`/api/schedules/${encodeURIComponent("nope#start")}/reset`)).status).toBe(404);
  });

  it("a backfill asked for as a dry run, in the body or the query, only plans: 200, dryRun, nothing run or kept", async () => {
    const send = (query: string, json: Record<string, unknown>) =>
      fetch(`${d.base}/api/backfills${query}`, { method: "POST", headers: { ...bearer, "Content-Type": "application/json" }, body: JSON.stringify(json) });
    // Yesterday's 09:00 of reports/daily, which never ran here.
    const day = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const range = { target: "reports/daily", from: `${day}T00:00Z`, to: `${day}T23:59Z` };
    for (const [query, extra] of [["?dryRun=true", {}], ["", { dryRun: true }], ["?dryRun=true", { dryRun: false }]] as const) {
      const planned = await send(query, { ...range, ...extra });
      const plan = await body<{ id: string; dryRun?: boolean; planned: string[] }>(planned);
      expect(planned.status, `${query} ${JSON.stringify(extra)}`).toBe(200);
      expect(plan).toMatchObject({ dryRun: true, planned: [`${day}T09:00:00.000Z`] });
      expect((await get(`/api/backfills/${plan.id}`)).status).toBe(404);
    }
    // A value that is not a boolean is refused, naming the field, rather than taken for "run it".
    for (const [query, extra] of [["", { dryRun: "true" }], ["?dryRun=yes", {}]] as const) {
      const refused = await send(query, { ...range, ...extra });
      expect(refused.status).toBe(400);
      expect(await body(refused)).toMatchObject({ field: "dryRun" });
    }
    // Still to come: the plan is empty and says why.
    const ahead = await body<{ planned: string[]; note: string }>(send("?dryRun=true", { ...range, from: "2099-01-01T00:00Z", to: "2099-01-02T00:00Z" }));
    expect(ahead).toMatchObject({ planned: [], note: "the range is still to come: its occurrences are the scheduler's (a backfill runs only past ones)" });
    expect(await body(get("/api/backfills"))).toEqual([]);
    expect((await body<RunJson[] | { runs: RunJson[] }>(get("/api/tasks/reports%2Fdaily/runs?limit=50")) as { runs: RunJson[] }).runs.filter((r) => r.trigger === "backfill")).toEqual([]);
  });

  it("pages through a task's runs, newest first, each with its output", async () => {
    await waitFor(async () => (await body(get("/api/tasks/ticker/runs?limit=200"))).runs.length >= 5, { what: "5 ticker runs" });
    const all = (await body(get("/api/tasks/ticker/runs?limit=200"))).runs as RunJson[];
    const first = await body(get("/api/tasks/ticker/runs?limit=2"));
    expect(first.runs).toHaveLength(2);
    expect(first.runs[0].id).toBeGreaterThan(first.runs[1].id);
    expect(first.nextBefore).toBe(first.runs[1].id);
    const second = await body(get(`/api/tasks/ticker/runs?limit=2&before=${first.nextBefore}`));
    expect(second.runs.map((r: RunJson) => r.id)).toEqual(all.filter((r) => r.id < first.nextBefore).slice(0, 2).map((r) => r.id));
    expect(all.find((r) => r.status === "success")!.output).toContain("tick");
    const one = await body(get(`/api/runs/${all[0]!.id}`));
    expect(one.id).toBe(all[0]!.id);
    // Task ids with "/" work encoded and plain.
    const encoded = await body(get("/api/tasks/reports%2Fdaily/runs?limit=1"));
    const plain = await body(get("/api/tasks/reports/daily/runs?limit=1"));
    expect(encoded.runs[0].taskId).toBe("reports/daily");
    expect(plain).toEqual(encoded);
    expect((await body(get("/api/tasks/reports%2Fdaily"))).title).toBe("Daily report");
  });

  it("streams run.start and run.end over SSE (cookie or Bearer)", async () => {
    const events = await readEvents(
      `${d.base}/api/events`,
      { Cookie: await cookieFor(d.base) },
      (es) => es.some((e) => e.event === "run.end" && e.data.taskId === "flaky"),
      () => post("/api/tasks/flaky/run"),
    );
    expect(events[0]!.event).toBe("ready");
    expect(events.some((e) => e.event === "run.start" && e.data.taskId === "flaky")).toBe(true);
    const end = events.find((e) => e.event === "run.end" && e.data.taskId === "flaky")!.data as RunJson;
    expect(end).toMatchObject({ status: "failure", trigger: "manual", error: expect.stringContaining("disk almost full") });
    expect(end.durationMs).toBeGreaterThanOrEqual(0);

    // A task edited on disk is announced as reloaded.
    const reloaded = readEvents(
      `${d.base}/api/events`,
      bearer,
      (es) => es.some((e) => e.event === "task.reloaded" && e.data.taskId === "flaky"),
      () => d.project.writeTask("flaky.ts", `/*\n---\ntitle: "Disk check v2"\n---\n*/\nimport { repeat, every } from "taskhost";\nexport default class { @repeat(every(6).hours) async start() {} }\n`),
    );
    expect((await reloaded).find((e) => e.event === "task.reloaded")!.data.title).toBe("Disk check v2");

    // Paused from the command line (the control socket, not the dashboard): announced as a change.
    const paused = readEvents(
      `${d.base}/api/events`,
      bearer,
      (es) => es.some((e) => e.event === "task.changed" && e.data.taskId === "flaky"),
      () => d.project.cli(["pause", "flaky"]),
    );
    expect((await paused).find((e) => e.event === "task.changed")!.data).toMatchObject({ taskId: "flaky", paused: true });
    await d.project.cli(["resume", "flaky"]);
  });
});

/** A response's JSON, loosely typed (the shapes are what the test checks). */
async function body<T = any>(response: Response | Promise<Response>): Promise<T> {
  return (await (await response).json()) as T;
}

async function cookieFor(base: string): Promise<string> {
  const login = await fetch(`${base}/api/login`, {
    method: "POST",
    headers: { Origin: base, "Content-Type": "application/json" },
    body: JSON.stringify({ token: TOKEN }),
  });
  return login.headers.get("set-cookie")!.split(";")[0]!;
}

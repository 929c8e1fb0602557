import { createHmac } from "node:crypto";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { Readable } from "node:stream";
import { getMetricsFromStream, type PromData, type PromHistogramData } from "prom2javascript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TempProject, type HostProcess } from "./support/temp-project.ts";
import { deadPort, startHttpReceiver, type HttpReceiver } from "./support/receivers.ts";
import { finished, history } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";
import { readHostLog } from "./support/host-log.ts";
import type { StatusJson } from "../runtime/host/report-shapes.ts";

/**
 * A real host with alerting on: a webhook receiver, a heartbeat receiver and a
 * ping receiver on loopback, and /metrics served with the dashboard page off.
 */
describe("alerts, pings and metrics on a running host", () => {
  let project: TempProject;
  let host: HostProcess;
  let hooks: HttpReceiver;
  let pings: HttpReceiver;
  let metricsUrl: string;
  const SECRET = "hmac-secret";
  const METRICS_TOKEN = "scrape-token-123";

  beforeAll(async () => {
    hooks = await startHttpReceiver();
    pings = await startHttpReceiver();
    project = await TempProject.create({
      alerts: {
        channels: {
          ops: { type: "webhook", url: `${hooks.url}/hook`, secret: SECRET },
          team: { type: "slack", url: `${hooks.url}/slack` },
          dead: { type: "webhook", url: `http://127.0.0.1:${await deadPort()}/nobody-listens` },
        },
        heartbeat_url: `${pings.url}/host`,
        rules: ["failure", "streak", "recovered", "error"],
        failure_streak: 2,
      },
      metrics: { enabled: true, token: METRICS_TOKEN },
      dashboard: { enabled: false, port: 0 },
    });
    await project.writeTask(
      "flaky.ts",
      `/*
---
title: "Flaky"
ping_url: ${pings.url}/flaky
alerts: [ops, dead]
---
*/
import { repeat, every, type TaskContext } from "taskhost";
import type { StatusJson } from "../runtime/host/report-shapes.ts";
export default class {
  @repeat(every().second)
  async start(ctx: TaskContext) {
    ctx.log.info("about to fail");
    throw new Error("disk full");
  }
}
`,
    );
    await project.writeTask(
      "fine.ts",
      `import { repeat, every } from "taskhost";
export default class { @repeat(every().second) async start() {} }
`,
    );
    host = await project.start([], { TASKHOST_HEARTBEAT_INTERVAL: "0.5" });
    const url = await waitFor(
      async () => {
        const log = await readHostLog(project.root);
        const line = log.split("\n").find((l) => l.includes('"dashboard.start"'));
        return line ? (JSON.parse(line) as { url: string }).url : null;
      },
      { what: "the metrics server's dashboard.start line" },
    );
    metricsUrl = `${url.replace(/\/$/, "")}/metrics`;
  });
  afterAll(async () => {
    await project?.cleanup();
    await hooks?.close();
    await pings?.close();
  });

  it("posts the failure to the webhook, signed, in the contract's shape; the task's alerts: list keeps it off Slack", async () => {
    const req = await waitFor(() => hooks.requests.find((r) => r.path === "/hook" && JSON.parse(r.body).event === "failure"), { what: "a failure webhook" });
    expect(req.headers["x-taskhost-signature"]).toBe(`sha256=${createHmac("sha256", SECRET).update(req.body).digest("hex")}`);
    const body = JSON.parse(req.body);
    expect(body).toMatchObject({
      event: "failure",
      text: expect.stringMatching(/^Flaky \(flaky#start\) failed: Error: disk full/),
      task: { id: "flaky", title: "Flaky" },
      run: { taskId: "flaky", scheduleId: "flaky#start", status: "failure", trigger: expect.stringMatching(/schedule|catch-up/), error: expect.stringContaining("disk full") },
      host: { id: expect.any(String), hostname: expect.any(String) },
    });
    expect(body.run.output).toContain("about to fail");
    expect(typeof body.run.id).toBe("number");
    // The streak (2 in a row) comes next; failure itself is not repeated within repeat_after.
    await waitFor(() => hooks.requests.some((r) => r.path === "/hook" && JSON.parse(r.body).event === "streak"), { what: "a streak webhook" });
    expect(hooks.requests.filter((r) => r.path === "/hook" && JSON.parse(r.body).event === "failure")).toHaveLength(1);
    expect(hooks.requests.some((r) => r.path === "/slack")).toBe(false);
  });

  it("taskhost alerts lists them, newest first, with their channels", async () => {
    const alerts = await waitFor(async () => {
      const list = await project.json<Array<{ event: string; taskId: string; channels: string[]; at: string }>>(["alerts"]);
      return list.length >= 2 ? list : null;
    }, { what: "two alerts listed" });
    expect(alerts.slice(0, 2).map((a) => [a.event, a.taskId, a.channels])).toEqual([
      ["streak", "flaky", ["ops", "dead"]],
      ["failure", "flaky", ["ops", "dead"]],
    ]);
    expect(Date.parse(alerts[0]!.at)).toBeGreaterThanOrEqual(Date.parse(alerts[1]!.at));
    const text = await project.cli(["alerts"]);
    expect(text.stdout).toMatch(/^times in \S+\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  /);
    expect(text.stdout).toMatch(/failure\s+flaky\s+→ ops, dead\n\s+Flaky \(flaky#start\) failed: Error: disk full/);
  });

  it("the task's ping_url gets /start and /fail with the output; the host's heartbeat_url is pinged", async () => {
    await waitFor(() => pings.requests.some((r) => r.path === "/flaky/start"), { what: "/start" });
    const fail = await waitFor(() => pings.requests.find((r) => r.path === "/flaky/fail"), { what: "/fail" });
    expect(fail.method).toBe("POST");
    expect(fail.body).toContain("disk full");
    expect(fail.body).toContain("about to fail");
    await waitFor(() => pings.requests.filter((r) => r.path === "/host").length >= 2, { what: "two heartbeats" });
  });

  it("serves /metrics with its own token, and the page stays off", async () => {
    expect((await fetch(metricsUrl)).status).toBe(401);
    const wrong = await fetch(metricsUrl, { headers: { authorization: "Bearer wrong" } });
    expect(wrong.status).toBe(401);
    // With metrics.token set, only it opens /metrics: the refusal does not invite the dashboard's token.
    expect(((await wrong.json()) as { error: string }).error).toBe("send Authorization: Bearer <metrics.token (the dashboard's token is not accepted here while metrics.token is set)>");
    expect((await fetch(metricsUrl.replace(/metrics$/, "api/status"), { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(404);
    const families = await waitFor(async () => {
      const res = await fetch(metricsUrl, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      // A real exposition-format parser: it throws on any line it cannot read.
      const parsed = await getMetricsFromStream(Readable.from([await res.text()]));
      const fine = (parsed.taskhost_runs_total?.data as PromData[] | undefined)?.find((m) => m.labels.task === "fine" && m.labels.status === "success");
      return fine && fine.value >= 1 ? parsed : null;
    }, { what: "runs counted in /metrics" });
    const samples = (name: string) => {
      expect(families[name], name).toBeDefined();
      return families[name]!.data as PromData[];
    };
    expect(families.taskhost_runs_total!.type).toBe("counter");
    expect(samples("taskhost_runs_total").some((m) => m.labels.task === "flaky" && m.labels.status === "failure" && m.value >= 1)).toBe(true);
    expect(families.taskhost_run_duration_seconds!.type).toBe("histogram");
    const duration = (families.taskhost_run_duration_seconds!.data as PromHistogramData[]).find((m) => m.labels.task === "fine")!;
    expect(duration.count).toBeGreaterThanOrEqual(1);
    expect(duration.buckets["+Inf"]).toBe(duration.count);
    expect(families.taskhost_start_lag_seconds!.type).toBe("histogram");
    expect((families.taskhost_start_lag_seconds!.data as PromHistogramData[]).find((m) => m.labels.task === "fine")!.count).toBeGreaterThanOrEqual(1);
    const next = samples("taskhost_schedule_next_run_timestamp_seconds").find((m) => m.labels.schedule === "fine#start")!;
    expect(Math.abs(next.value - Date.now() / 1000)).toBeLessThan(60);
    const lastOk = samples("taskhost_task_last_success_timestamp_seconds").find((m) => m.labels.task === "fine")!;
    expect(Date.now() / 1000 - lastOk.value).toBeLessThan(60);
    expect(samples("taskhost_tasks_in_error")[0]!.value).toBe(0);
    expect(samples("taskhost_host_resident_memory_bytes")[0]!.value).toBeGreaterThan(10_000_000);
    expect(samples("taskhost_host_restarts_total")[0]!.value).toBe(0);
    expect(samples("taskhost_alert_deliveries_total").some((m) => m.labels.channel === "ops" && m.labels.outcome === "sent" && m.value >= 1)).toBe(true);
  });

  it("a broken save alerts error, and status shows the channels' health", async () => {
    await project.writeTask("fine.ts", `/*\n---\ntimeout: soon\n---\n*/\nexport default class {}\n`);
    const req = await waitFor(() => hooks.requests.find((r) => r.path === "/hook" && JSON.parse(r.body).event === "error"), { what: "an error webhook" });
    expect(JSON.parse(req.body).text).toMatch(/^fine is an error task: tasks\/fine\.ts:3: frontmatter field "timeout"/);
    type Channels = { alerts: { channels: Array<{ name: string; state: string; sent: number; lastErrorAt: string | null; lastSuccessAt: string | null }> } };
    // "dead" is failing once three attempts in a row failed (after 2 s and 4 s of backoff).
    const status = await waitFor(async () => {
      const s = await project.json<Channels>(["status"]);
      return s.alerts.channels.find((c) => c.name === "dead")?.state === "failing" ? s : null;
    }, { what: "the dead channel failing" });
    expect(status.alerts.channels.map((c) => [c.name, c.state])).toEqual([["ops", "ok"], ["team", "ok"], ["dead", "failing"]]);
    // A channel a task lists but the config does not define is a warning at once, with its line.
    await project.writeTask("listed.ts", `/*\n---\ntitle: Listed\nalerts: [ops, opz]\n---\n*/\nexport default class {}\n`);
    // Listed as soon as its load begins; its warnings come with the loaded version.
    const listed = await waitFor(async () => (await project.json<StatusJson>(["status"])).tasks.find((t) => t.id === "listed" && t.state === "manual"), { what: "the listed task, loaded" });
    expect(listed.warnings).toContainEqual('tasks/listed.ts:4: alerts: "opz" is not an alert channel (alerts.channels has: ops, team, dead), so none of its alerts go there');
    const text = await project.cli(["status"]);
    expect(text.stdout).toMatch(/alert channel dead \(webhook\) is failing: \d+ attempt\(s\) in a row, last: POST http:\/\/127\.0\.0\.1:\d+\/…: ECONNREFUSED/);
    expect(status.alerts.channels[0]!.sent).toBeGreaterThanOrEqual(3);
    // Times as every time in the JSON shapes: ISO-8601 UTC.
    const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
    expect(status.alerts.channels[0]!.lastSuccessAt).toMatch(iso);
    expect(status.alerts.channels[2]!.lastErrorAt).toMatch(iso);
  });

  it("an unreachable channel loses no run: the every-second task ran every second all along", async () => {
    const scheduled = async () => finished(await history(project, "flaky")).filter((r) => r.trigger === "schedule").reverse();
    const runs = await waitFor(async () => ((await scheduled()).length > 10 ? scheduled() : null), { what: "more than 10 runs" });
    // (A loaded machine may make a run overlap the next occurrence: that one is recorded skipped, not lost.)
    expect(runs.filter((r) => r.status !== "failure" && r.status !== "skipped")).toEqual([]);
    expect(runs.filter((r) => r.status === "failure").length).toBeGreaterThan(runs.length / 2);
    // Every occurrence recorded, one second apart: none lost while alerts to "dead" were retried.
    const times = runs.map((r) => Date.parse(r.scheduledFor!));
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(1000);
  });

  it("the heartbeat stops while the host is stopped (SIGSTOP) and comes back with it", async () => {
    const hostPid = await host.hostPid();
    const beats = () => pings.requests.filter((r) => r.path === "/host");
    await waitFor(() => beats().length >= 3, { what: "heartbeats before the stop" });
    process.kill(hostPid, "SIGSTOP");
    let stoppedAt: number;
    try {
      // A ping already on the wire may still land: count from a moment after the stop.
      await new Promise((resolve) => setTimeout(resolve, 300));
      stoppedAt = Date.now();
      const before = beats().length;
      // Six intervals' worth of silence (the interval is 0.5 s).
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(beats().length).toBe(before);
    } finally {
      process.kill(hostPid, "SIGCONT");
    }
    await waitFor(() => beats().some((b) => b.at > stoppedAt + 3000), { what: "a heartbeat after SIGCONT" });
  });
});

describe("missed occurrences on a running host", () => {
  let project: TempProject;
  let hooks: HttpReceiver;
  let host: HostProcess;

  beforeAll(async () => {
    hooks = await startHttpReceiver();
    // One run slot, held by a long run: the other task's occurrences cannot start.
    project = await TempProject.create({
      scheduler: { max_concurrent_runs: 1, shutdown_grace: 1 },
      alerts: { channels: { ops: { type: "webhook", url: `${hooks.url}/hook` } }, rules: ["missed"], missed_grace: 1 },
      dashboard: { enabled: true, port: 0, token: "dash-token-0123456789" },
    });
    await project.writeTask(
      "hog.ts",
      `import { repeat, every, type TaskContext } from "taskhost";
export default class { @repeat(every(5).seconds) async start(ctx: TaskContext) { await new Promise((r) => setTimeout(r, 60_000)); } }
`,
    );
    await project.writeTask("tick.ts", `import { repeat, every } from "taskhost";\nexport default class { @repeat(every().second) async start() {} }\n`);
    host = await project.start();
  });
  afterAll(async () => {
    await project?.cleanup();
    await hooks?.close();
  });

  it("an occurrence that cannot start within missed_grace alerts missed, once per repeat_after", async () => {
    const body = await waitFor(
      () => hooks.requests.map((r) => JSON.parse(r.body) as { event: string; task: { id: string }; text: string }).find((b) => b.task.id === "tick"),
      { timeoutMs: 30_000, what: "a missed alert for tick" },
    );
    expect(body.event).toBe("missed");
    // Whichever comes first: the waiting occurrence's lateness, or the next one skipped because it waits
    // (a run waiting for a slot counts as the previous run, issue 10 item 3).
    expect(body.text).toMatch(
      /^tick: the occurrence of tick#start at \S+ (has not started [\d.]+s after its time|started [\d.]+s after its time|was skipped: the previous run was still (running|waiting for a free run slot))/,
    );
    const alerts = await project.json<Array<{ event: string; taskId: string; scheduledFor: string | null }>>(["alerts", "--task", "tick"]);
    expect(alerts.map((a) => a.event)).toEqual(["missed"]);
    expect(alerts[0]!.scheduledFor).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    const unknown = await project.cli(["alerts", "--task", "nosuch"]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('no task "nosuch"');
  });

  it("the dashboard's GET /api/alerts has the newest alerts and the channels' health; the webhook links to the task's page", async () => {
    const log = await readHostLog(project.root);
    const base = (JSON.parse(log.split("\n").find((l) => l.includes('"dashboard.start"'))!) as { url: string }).url.replace(/\/$/, "");
    const res = await fetch(`${base}/api/alerts?limit=5&task=tick`, { headers: { authorization: "Bearer dash-token-0123456789" } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { alerts: Array<{ event: string; taskId: string; at: string }>; channels: Array<{ name: string; state: string }> };
    expect(body.alerts[0]).toMatchObject({ event: "missed", taskId: "tick", at: expect.stringMatching(/Z$/) });
    expect(body.channels).toEqual([expect.objectContaining({ name: "ops", type: "webhook", state: "ok" })]);
    expect((await fetch(`${base}/api/alerts`)).status).toBe(401);
    // Bad input is said, not answered with an empty list.
    const auth = { headers: { authorization: "Bearer dash-token-0123456789" } };
    const unknown = await fetch(`${base}/api/alerts?task=nosuch`, auth);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toContain('no task "nosuch"');
    expect((await fetch(`${base}/api/alerts?limit=abc`, auth)).status).toBe(400);
    const hook = JSON.parse(hooks.requests.find((r) => JSON.parse(r.body).task.id === "tick")!.body) as { links: { task: string } };
    expect(hook.links.task).toBe(`${base}/#/task/tick`);
  });

  // As dashboard-browser.test.ts: without Chromium a developer machine skips it; CI installs it.
  it.skipIf(!existsSync("/usr/bin/chromium") && !process.env.CI)("the dashboard page shows the alert and the channel's health", async () => {
    const log = await readHostLog(project.root);
    const base = (JSON.parse(log.split("\n").find((l) => l.includes('"dashboard.start"'))!) as { url: string }).url;
    const browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    try {
      const page = await browser.newPage({ extraHTTPHeaders: { authorization: "Bearer dash-token-0123456789" } });
      await page.goto(base);
      const item = page.locator(".alert-list li", { hasText: "the occurrence of tick#start" }).first();
      await item.waitFor();
      expect(await item.locator(".badge").textContent()).toBe("missed");
      expect(await page.locator(".alerts .channels").textContent()).toContain("ok ops (webhook)");
    } finally {
      await browser.close();
    }
  });

  it("with no host running, taskhost alerts reads them from the ledger", async () => {
    type Listed = Array<{ id: number; event: string; taskId: string }>;
    const online = await waitFor(async () => {
      const list = await project.json<Listed>(["alerts", "--task", "tick"]);
      return list.length > 0 ? list : null;
    }, { timeoutMs: 30_000, what: "an alert of tick" });
    expect(await host.stop()).toBe(0);
    const offline = await project.json<Listed>(["alerts", "--task", "tick"]);
    expect(offline.map((a) => a.id).slice(-online.length)).toEqual(online.map((a) => a.id));
    expect(offline[0]).toMatchObject({ event: "missed", taskId: "tick" });
  });
});

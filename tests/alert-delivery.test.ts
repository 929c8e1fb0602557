import { createHmac } from "node:crypto";
import { EventEmitter } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DeliveryQueue } from "../runtime/alerts/delivery-queue.ts";
import { webhookChannel } from "../runtime/alerts/webhook-channel.ts";
import { slackChannel } from "../runtime/alerts/slack-channel.ts";
import { emailChannel } from "../runtime/alerts/email-channel.ts";
import type { AlertMessage } from "../runtime/alerts/alert-message.ts";
import { openLedger } from "../runtime/store/open-ledger.ts";
import type { Ledger } from "../runtime/store/ledger.ts";
import { startAlerting } from "../runtime/alerts/start-alerting.ts";
import type { AlertingTask } from "../runtime/alerts/alerting-ports.ts";
import { resolveAlertsOptions } from "../runtime/config/alerts-options.ts";
import { TASK_META_DEFAULTS, type ResolvedTaskMeta } from "../runtime/task-file/task-meta.ts";
import type { HostLog, RunEndInfo } from "../runtime/scheduler/scheduler-types.ts";
import { deadPort, startHttpReceiver, startSmtpReceiver, type HttpReceiver, type SmtpReceiver } from "./support/receivers.ts";
import { waitFor } from "./support/wait-for.ts";

const lines: Array<{ level: string; event?: string; msg?: string }> = [];
const log: HostLog = {
  debug: (o, msg) => lines.push({ level: "debug", ...(o as object), msg }),
  info: (o, msg) => lines.push({ level: "info", ...(o as object), msg }),
  warn: (o, msg) => lines.push({ level: "warn", ...(o as object), msg }),
  error: (o, msg) => lines.push({ level: "error", ...(o as object), msg }),
};

const message: AlertMessage = {
  event: "failure",
  text: "Backup (backup#start) failed: Error: disk full",
  task: { id: "backup", title: "Backup" },
  run: { id: 7, status: "failure", error: "Error: disk full", output: "copying…\n" },
  host: { id: "box:1", hostname: "box" },
  links: {},
  at: "2026-11-01T10:00:00.000Z",
};

let http: HttpReceiver;
let smtp: SmtpReceiver;
beforeAll(async () => {
  http = await startHttpReceiver();
  smtp = await startSmtpReceiver({ user: "bot", password: "pw" });
});
afterAll(async () => {
  await http.close();
  await smtp.close();
});
afterEach(() => {
  http.requests.length = 0;
  http.status = 200;
  lines.length = 0;
});

describe("channels, against real receivers", () => {
  it("webhook: the contract's JSON body, signed with HMAC-SHA256 of the exact body", async () => {
    const queue = new DeliveryQueue(webhookChannel("ops", `${http.url}/hook`, "s3cret"), { log });
    queue.push(message);
    await queue.idle();
    expect(http.requests).toHaveLength(1);
    const [req] = http.requests;
    expect(req!.method).toBe("POST");
    expect(req!.path).toBe("/hook");
    expect(req!.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(req!.body)).toEqual(message);
    const expected = `sha256=${createHmac("sha256", "s3cret").update(req!.body).digest("hex")}`;
    expect(req!.headers["x-taskhost-signature"]).toBe(expected);
    expect(queue.status()).toMatchObject({ state: "ok", sent: 1, failedAttempts: 0 });
    expect(lines.find((l) => l.event === "alert.sent")).toMatchObject({ channel: "ops", attempt: 1 });
  });

  it("webhook without a secret sends no signature", async () => {
    const queue = new DeliveryQueue(webhookChannel("ops", `${http.url}/plain`, null), { log });
    queue.push(message);
    await queue.idle();
    expect(http.requests[0]!.headers["x-taskhost-signature"]).toBeUndefined();
  });

  it("webhook on a port browsers block (Node's fetch refuses 6000, 6665–6669, 10080 with 'bad port'), and one that moved (307)", async () => {
    let blocked: HttpReceiver | null = null;
    for (const port of [6000, 6665, 6666, 6667, 6668, 6669, 10080]) {
      blocked = await startHttpReceiver({ port }).catch(() => null);
      if (blocked) break;
    }
    expect(blocked, "no browser-blocked port was free to listen on").not.toBeNull();
    try {
      const queue = new DeliveryQueue(webhookChannel("x11", `${blocked!.url}/hook`, null), { log });
      queue.push(message);
      await queue.idle();
      expect(queue.status()).toMatchObject({ state: "ok", sent: 1, failedAttempts: 0 });
      expect(JSON.parse(blocked!.requests[0]!.body)).toEqual(message);
    } finally {
      await blocked!.close();
    }
    const moved = new DeliveryQueue(webhookChannel("ops", `${http.url}/moved/hook`, null), { log });
    moved.push(message);
    await moved.idle();
    expect(http.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /hook"]);
    expect(JSON.parse(http.requests[0]!.body)).toEqual(message);
  });

  it("a 2xx is taken at once, even from a receiver that never finishes its answer's body", async () => {
    const { createServer } = await import("node:http");
    const endless = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("accepted, and more to come…");
    });
    await new Promise<void>((resolve) => endless.listen(0, "127.0.0.1", resolve));
    try {
      const queue = new DeliveryQueue(webhookChannel("slowpoke", `http://127.0.0.1:${(endless.address() as { port: number }).port}/`, null), { log });
      const started = Date.now();
      queue.push(message);
      await queue.idle();
      expect(queue.status()).toMatchObject({ sent: 1, failedAttempts: 0 });
      // Not after POST_TIMEOUT_MS (10 s) and a retry.
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      endless.closeAllConnections();
      await new Promise<void>((resolve) => endless.close(() => resolve()));
    }
  });

  it("slack: an incoming-webhook body with the alert's text", async () => {
    const queue = new DeliveryQueue(slackChannel("team", `${http.url}/services/T/B/x`), { log });
    queue.push({ ...message, links: { task: "http://127.0.0.1:8787/#/task/backup" } });
    await queue.idle();
    const body = JSON.parse(http.requests[0]!.body) as { text: string };
    expect(body).toEqual({ text: ":red_circle: *failure* Backup (backup#start) failed: Error: disk full (on box) <http://127.0.0.1:8787/#/task/backup|open>" });
  });

  it("email: through SMTP with auth, subject and body naming the task", async () => {
    const smtpSettings = { host: "127.0.0.1", port: smtp.port, secure: false, user: "bot", password: "pw", from: "taskhost@example.com" };
    const queue = new DeliveryQueue(emailChannel("mail", ["ops@example.com", "oncall@example.com"], () => smtpSettings), { log });
    queue.push(message);
    await queue.idle();
    expect(queue.status()).toMatchObject({ state: "ok", sent: 1 });
    const mail = smtp.mails.at(-1)!;
    expect(smtp.recipients.at(-1)).toEqual(["ops@example.com", "oncall@example.com"]);
    expect(mail.subject).toBe("[taskhost] failure: Backup");
    expect(mail.from?.text).toBe("taskhost@example.com");
    expect(mail.text).toContain("Backup (backup#start) failed: Error: disk full");
    expect(mail.text).toContain("error:\nError: disk full");
  });

  it("a wrong SMTP password fails the attempt, is retried, then given up and reported failing", async () => {
    const settings = { host: "127.0.0.1", port: smtp.port, secure: false, user: "bot", password: "wrong", from: null };
    const queue = new DeliveryQueue(emailChannel("mail", ["ops@example.com"], () => settings), { log, maxAttempts: 3, retryDelayMs: () => 10 });
    queue.push(message);
    await queue.idle();
    expect(queue.status()).toMatchObject({ state: "failing", sent: 0, failedAttempts: 3, givenUp: 1, lastError: expect.stringMatching(/invalid username or password|Invalid login/i) });
    expect(lines.filter((l) => l.event === "alert.attempt.failed")).toHaveLength(3);
    expect(lines.filter((l) => l.event === "alert.gave_up")).toHaveLength(1);
  });

  it("a 5xx answer is retried with backoff until the far end takes it", async () => {
    http.status = 503;
    const queue = new DeliveryQueue(webhookChannel("ops", `${http.url}/flaky`, null), { log, retryDelayMs: () => 20 });
    queue.push(message);
    await waitFor(() => http.requests.length >= 2, { what: "two attempts" });
    http.status = 200;
    await queue.idle();
    expect(http.requests.length).toBeGreaterThanOrEqual(3);
    expect(queue.status()).toMatchObject({ state: "ok", sent: 1, consecutiveFailures: 0 });
    expect(lines.find((l) => l.event === "alert.attempt.failed")).toMatchObject({ error: expect.stringMatching(/HTTP 503: nope/) });
  });

  it("the queue is bounded: a dead channel drops its oldest alerts, never grows", async () => {
    const queue = new DeliveryQueue(webhookChannel("dead", `http://127.0.0.1:${await deadPort()}/`, null), { log, maxQueued: 3, retryDelayMs: () => 60_000 });
    for (let i = 0; i < 10; i++) queue.push({ ...message, text: `alert ${i}` });
    expect(queue.status().queued).toBe(3);
    expect(queue.status().dropped).toBe(7);
    queue.close();
    // What was still waiting when it closed is said, not dropped silently.
    expect(lines.find((l) => l.event === "alert.undelivered")).toMatchObject({
      level: "warn",
      channel: "dead",
      count: 3,
      msg: "alert channel dead: 3 alert(s) not delivered, the host is stopping: failure of backup, failure of backup, failure of backup (`taskhost alerts` lists them)",
    });
  });
});

describe("the wiring, with a stand-in scheduler and catalog", () => {
  const opened: Array<{ ledger: Ledger; dir: string }> = [];
  afterEach(async () => {
    for (const { ledger, dir } of opened.splice(0)) {
      await ledger.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
  const meta = (over: Partial<ResolvedTaskMeta> = {}): ResolvedTaskMeta => ({ ...TASK_META_DEFAULTS, title: "Backup", ...over });
  const setup = async (alertsYaml: Record<string, unknown>, taskMeta: ResolvedTaskMeta, notifyOnFailure = false) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "th-alerting-"));
    const scheduler = Object.assign(new EventEmitter(), { nextRunOf: () => null, isPaused: () => false, runningCount: 0 });
    const task: AlertingTask = { id: "backup", title: "Backup", error: null, loaded: { meta: taskMeta, schedules: [{ id: "backup#start" }] } };
    const catalog = Object.assign(new EventEmitter(), { entries: new Map([["backup", task]]), get: (id: string) => (id === "backup" ? task : undefined) });
    let alerts = resolveAlertsOptions(alertsYaml).options;
    const store = await openLedger({ path: path.join(dir, "data", "scheduler.db") }, { onWarning: () => {} });
    opened.push({ ledger: store, dir });
    const alerting = startAlerting({
      scheduler,
      catalog,
      store,
      metrics: null,
      config: () => ({ alerts, notifications: { notifyOnFailure } }),
      host: { id: "box:1", hostname: "box" },
      dashboardUrl: () => null,
      runJson: (run) => ({ ...run }),
      recentRuns: async () => [],
      log,
      delivery: { retryDelayMs: () => 60_000 },
    });
    const reload = (yaml: Record<string, unknown>) => {
      alerts = resolveAlertsOptions(yaml).options;
      alerting.configure();
    };
    return { dir, scheduler, catalog, task, alerting, store, reload };
  };
  const end = (over: Partial<RunEndInfo> = {}): RunEndInfo => ({
    runId: 1, taskId: "backup", scheduleId: "backup#start", scheduledFor: 0, trigger: "schedule", attempt: 1,
    status: "failure", startedAt: Date.now() - 10, finishedAt: Date.now(), error: "Error: disk full", output: "log line\n", retryAt: null, ...over,
  });

  it("an unreachable channel delays nothing: emitting returns at once and the good channel gets the alert", async () => {
    const dead = await deadPort();
    const { scheduler, alerting, store } = await setup(
      { channels: { dead: { type: "webhook", url: `http://127.0.0.1:${dead}/x` }, ops: { type: "webhook", url: `${http.url}/ops` } } },
      meta(),
    );
    try {
      const t0 = performance.now();
      for (let i = 0; i < 50; i++) scheduler.emit("run.end", end({ runId: i }));
      expect(performance.now() - t0).toBeLessThan(200);
      await waitFor(() => http.requests.some((r) => r.path === "/ops"), { what: "the ops webhook" });
      await waitFor(() => alerting.channels().find((c) => c.name === "dead")!.failedAttempts >= 1, { what: "a failed attempt on the dead channel" });
      // One failure alert (rate limit) and one streak alert at the 3rd failure: recorded once each.
      const recorded = await waitFor(async () => ((await store.listAlerts()).length === 2 ? store.listAlerts() : null), { what: "2 recorded alerts" });
      expect(recorded.map((a) => [a.event, a.channels])).toEqual([["streak", ["dead", "ops"]], ["failure", ["dead", "ops"]]]);
    } finally {
      alerting.close();
    }
  });

  it("a task's alerts: list picks its channels; ping_url gets /start, success and /fail with the output", async () => {
    const { scheduler, alerting } = await setup(
      { channels: { a: { type: "webhook", url: `${http.url}/a` }, b: { type: "webhook", url: `${http.url}/b` } }, rules: ["failure"] },
      meta({ alerts: ["b", "nope"], pingUrl: `${http.url}/ping/abc` }),
    );
    try {
      scheduler.emit("run.start", { runId: 1, taskId: "backup", scheduleId: "backup#start", scheduledFor: Date.now(), trigger: "schedule", attempt: 1, startedAt: Date.now() });
      scheduler.emit("run.end", end({ status: "success" }));
      scheduler.emit("run.end", end({ output: "step 1\nstep 2 broke\n" }));
      await waitFor(() => http.requests.filter((r) => r.path.startsWith("/ping")).length === 3 && http.requests.some((r) => r.path === "/b"), { what: "3 pings and the alert" });
      expect(http.requests.some((r) => r.path === "/a")).toBe(false);
      const pings = http.requests.filter((r) => r.path.startsWith("/ping"));
      expect(pings.map((p) => `${p.method} ${p.path}`)).toEqual(["GET /ping/abc/start", "GET /ping/abc", "POST /ping/abc/fail"]);
      expect(pings[2]!.body).toBe("Error: disk full\n\nstep 1\nstep 2 broke\n");
      await waitFor(() => lines.some((l) => l.event === "alert.unknown_channel"), { what: "the unknown channel warning" });
    } finally {
      alerting.close();
    }
  });

  it("a task that becomes an error task alerts once", async () => {
    const { catalog, task, alerting, store } = await setup({ channels: { ops: { type: "webhook", url: `${http.url}/err` } } }, meta());
    try {
      task.error = 'tasks/backup.ts:3: frontmatter field "timeout" must be a number of seconds > 0, got "soon"';
      catalog.emit("entry.changed", task);
      catalog.emit("entry.changed", task);
      await waitFor(() => http.requests.some((r) => r.path === "/err"), { what: "the error alert" });
      const body = JSON.parse(http.requests.find((r) => r.path === "/err")!.body) as AlertMessage;
      expect(body).toMatchObject({ event: "error", task: { id: "backup", title: "Backup" }, run: null, host: { id: "box:1", hostname: "box" } });
      expect((await store.listAlerts()).map((a) => a.event)).toEqual(["error"]);
    } finally {
      alerting.close();
    }
  });

  it("notifications.notify_on_failure still means a desktop notification of failures (a desktop channel of its own)", async () => {
    const { scheduler, alerting, store } = await setup({}, meta(), true);
    try {
      expect(alerting.channels().map((c) => [c.name, c.type])).toEqual([["desktop", "desktop"]]);
      scheduler.emit("run.end", end());
      // Shown where a desktop runs; on a server the attempt fails and says why.
      await waitFor(() => { const c = alerting.channels()[0]!; return c.sent + c.failedAttempts >= 1; }, { what: "a desktop attempt" });
      const [alert] = await waitFor(async () => { const list = await store.listAlerts(); return list.length ? list : null; }, { what: "the recorded alert" });
      expect(alert).toMatchObject({ event: "failure", channels: ["desktop"] });
    } finally {
      alerting.close();
    }
  });

  it("the scheduler's run.skipped and occurrence.missed alert missed, each occurrence once", async () => {
    const { scheduler, alerting, store } = await setup({ rules: ["missed"], repeat_after: 0 }, meta());
    try {
      const info = { runId: 5, taskId: "backup", scheduleId: "backup#start", scheduledFor: Date.parse("2026-11-01T10:00:00Z"), trigger: "schedule", attempt: 1 };
      scheduler.emit("run.skipped", { ...info, code: "overlap", reason: "skipped: the previous run was still running (overlap: skip)" });
      scheduler.emit("run.skipped", { ...info, code: "overlap", reason: "skipped: the previous run was still running (overlap: skip)" });
      scheduler.emit("run.skipped", { ...info, scheduledFor: Date.parse("2026-11-01T10:01:00Z"), code: "missed", reason: "skipped: missed while the host was down" });
      // A restart shorter than missed_grace, with a catch-up standing for what passed: no miss.
      scheduler.emit("occurrence.missed", { taskId: "backup", scheduleId: "backup#start", first: Date.now() - 20_000, count: 4, countIsFloor: false, policy: "once", cause: "host-down" });
      scheduler.emit("occurrence.missed", { taskId: "backup", scheduleId: "backup#start", first: Date.parse("2026-11-01T10:01:00Z"), count: 12, countIsFloor: false, policy: "skip", cause: "host-down" });
      const alerts = await waitFor(async () => { const list = await store.listAlerts(); return list.length >= 2 ? list : null; }, { what: "two missed alerts" });
      expect(alerts.map((a) => a.text)).toEqual([
        "Backup: the occurrence of backup#start at 2026-11-01T10:01:00.000Z was missed: 12 occurrence(s) passed while the host was down",
        "Backup: the occurrence of backup#start at 2026-11-01T10:00:00.000Z was skipped: the previous run was still running (overlap: skip)",
      ]);
    } finally {
      alerting.close();
    }
  });

  it("a config reload replaces the channels that changed and keeps the others' health", async () => {
    const dead = await deadPort();
    const first = { channels: { ops: { type: "webhook", url: `${http.url}/r1` }, pager: { type: "webhook", url: `http://127.0.0.1:${dead}/` } } };
    const { scheduler, alerting, reload } = await setup(first, meta());
    try {
      scheduler.emit("run.end", end());
      await waitFor(() => alerting.channels().find((c) => c.name === "ops")!.sent === 1, { what: "ops sent" });
      reload({ channels: { ops: first.channels.ops, pager: { type: "webhook", url: `${http.url}/r2` }, team: { type: "slack", url: `${http.url}/r3` } } });
      expect(alerting.channels().map((c) => [c.name, c.sent, c.failedAttempts])).toEqual([["ops", 1, 0], ["pager", 0, 0], ["team", 0, 0]]);
      reload({ channels: {} });
      expect(alerting.channels()).toEqual([]);
    } finally {
      alerting.close();
    }
  });
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfigFile } from "../runtime/config/load-config-file.ts";
import { ConfigError } from "../runtime/config/resolve-config.ts";
import { parseTaskFile, TaskFileError } from "../runtime/task-file/parse-task-file.ts";

let root: string;
let configPath: string;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "taskhost-alerts-config-"));
  mkdirSync(path.join(root, "config"));
  configPath = path.join(root, "config", "config.yaml");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function load(text: string, env: NodeJS.ProcessEnv = {}, secrets?: string) {
  writeFileSync(configPath, text);
  if (secrets !== undefined) writeFileSync(path.join(root, "config", "secrets.yaml"), secrets);
  return loadConfigFile(configPath, root, env);
}

function errorOf(text: string): ConfigError {
  try {
    load(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`expected an error for:\n${text}`);
}

describe("alerts: and metrics: config", () => {
  it("defaults: no channels, every rule, the contract's numbers", () => {
    const { config, warnings } = load("");
    expect(warnings).toEqual([]);
    expect(config.alerts).toEqual({
      channels: [],
      smtp: { host: null, port: 587, secure: false, user: null, password: null, from: null },
      rules: ["failure", "recovered", "streak", "slow", "missed", "error"],
      failureStreak: 3,
      slowFactor: 3,
      slowAfterSec: null,
      missedGraceSec: 60,
      repeatAfterSec: 3600,
      heartbeatUrl: null,
    });
    expect(config.metrics).toEqual({ enabled: false, token: null });
  });

  it("reads one channel of each type, the secrets from secrets.yaml and the environment", () => {
    const { config, warnings } = load(
      `alerts:
  channels:
    ops: { type: webhook, url: "http://127.0.0.1:9/hook" }
    team: { type: slack, url: "https://hooks.slack.com/services/x" }
    mail: { type: email, to: ["ops@example.com"] }
    local: { type: desktop, colour: red }
  smtp: { host: mail.example.com, port: 465, secure: true, user: bot }
  rules: [failure, missed]
  repeat_after: 0
metrics: { enabled: true, token: scrape-me }
`,
      { TASKHOST_SMTP_PASSWORD: "from-env" },
      "alerts:\n  channels:\n    ops: { secret: s3cret }\n",
    );
    expect(config.alerts.channels).toEqual([
      { name: "ops", type: "webhook", url: "http://127.0.0.1:9/hook", secret: "s3cret" },
      { name: "team", type: "slack", url: "https://hooks.slack.com/services/x" },
      { name: "mail", type: "email", to: ["ops@example.com"] },
      { name: "local", type: "desktop" },
    ]);
    expect(config.alerts.smtp).toMatchObject({ host: "mail.example.com", port: 465, secure: true, user: "bot", password: "from-env" });
    expect(config.alerts.rules).toEqual(["failure", "missed"]);
    expect(config.alerts.repeatAfterSec).toBe(0);
    expect(config.metrics).toEqual({ enabled: true, token: "scrape-me" });
    expect(warnings.map((w) => w.key)).toEqual(["alerts.channels.local.colour"]);
  });

  it("secrets.yaml's password wins over the environment", () => {
    const { config } = load("alerts:\n  smtp: { host: h }\n", { TASKHOST_SMTP_PASSWORD: "env" }, "alerts:\n  smtp:\n    password: file\n");
    expect(config.alerts.smtp.password).toBe("file");
  });

  it.each([
    ["alerts:\n  channels:\n    ops: { type: pager }\n", "alerts.channels.ops.type", 3, /must be one of webhook, slack, email, desktop/],
    ["alerts:\n  channels:\n    ops: { type: webhook, url: ftp://x }\n", "alerts.channels.ops.url", 3, /must be an http\(s\) URL/],
    ["alerts:\n  channels:\n    m: { type: email, to: [nobody] }\n", "alerts.channels.m.to", 3, /list of e-mail addresses/],
    ["alerts:\n  channels:\n    m: { type: email, to: [a@b.c] }\n", "alerts.smtp.host", undefined, /must name an SMTP server/],
    ["alerts:\n  rules: [failure, sometimes]\n", "alerts.rules", 2, /list of rules from failure, recovered/],
    ["alerts:\n  failure_streak: 1\n", "alerts.failure_streak", 2, /whole number >= 2/],
    ["alerts:\n  slow_factor: 0.5\n", "alerts.slow_factor", 2, /a number > 1/],
    ["alerts:\n  heartbeat_url: nope\n", "alerts.heartbeat_url", 2, /http\(s\) URL/],
    ["metrics:\n  enabled: yes please\n", "metrics.enabled", 2, /true or false/],
  ])("refuses %j naming %s at its line", (text, key, line, message) => {
    const error = errorOf(text);
    expect(error.key).toBe(key);
    expect(error.line).toBe(line);
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/^config\/config\.yaml/);
  });
});

describe("frontmatter alerts and ping_url", () => {
  const meta = (fields: string) => parseTaskFile(`/*\n---\n${fields}\n---\n*/\nexport default class {}\n`, "tasks/t.ts").meta;

  it("reads the task's channels and ping URL; default every channel and no ping", () => {
    expect(meta("title: t")).toMatchObject({ alerts: null, pingUrl: null });
    expect(meta("alerts: [ops, mail]\nping_url: https://hc-ping.com/abc/")).toMatchObject({ alerts: ["ops", "mail"], pingUrl: "https://hc-ping.com/abc" });
    expect(meta("alerts: false")).toMatchObject({ alerts: [] });
  });

  it("refuses a bad value at its line", () => {
    expect(() => meta("alerts: ops")).toThrow(TaskFileError);
    expect(() => meta("alerts: ops")).toThrow(/tasks\/t\.ts:3: frontmatter field "alerts" must be a list of alert channel names/);
    expect(() => meta("title: x\nping_url: mailto:x@y")).toThrow(/tasks\/t\.ts:4: frontmatter field "ping_url" must be an http\(s\) URL/);
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { DEFAULT_CONFIG_OPTIONS } from "../runtime/config/config-options.ts";
import { loadConfigFile, resolveConfigSource } from "../runtime/config/load-config-file.ts";
import { ConfigError, ERR_CONFIG_INVALID, resolveConfig } from "../runtime/config/resolve-config.ts";

let root: string;
let configPath: string;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "taskhost-config-"));
  mkdirSync(path.join(root, "config"));
  configPath = path.join(root, "config", "config.yaml");
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Writes the file, loads it, returns the resolution. */
function load(text: string, env: NodeJS.ProcessEnv = {}) {
  writeFileSync(configPath, text);
  return loadConfigFile(configPath, root, env);
}

/** The ConfigError a config text produces. */
function errorOf(text: string, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    load(text, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe(ERR_CONFIG_INVALID);
    return err as ConfigError;
  }
  throw new Error(`expected an error for:\n${text}`);
}

const localZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

describe("defaults", () => {
  it("a missing file gives every default and no error", () => {
    const { config, warnings } = loadConfigFile(configPath, root, {});
    expect(warnings).toEqual([]);
    expect(config.projectRoot).toBe(root);
    expect(config.configPath).toBe(configPath);
    expect(config.scheduler).toEqual({
      timezone: localZone,
      timezoneIsLocal: true,
      maxMemoryUsageBytes: 500 * 1024 * 1024,
      memoryCheckIntervalSec: 10,
      maxConcurrentRuns: 8,
      shutdownGraceSec: 30,
      isolation: "context",
    });
    expect(config.database).toEqual({ path: path.join(root, "data", "scheduler.db"), historyPerTask: 1000, url: null, leaseSec: 6 });
    expect(config.logging).toEqual({
      level: "info",
      directory: path.join(root, "logs"),
      maxSizeBytes: 10 * 1024 * 1024,
      rotation: "daily",
      retention: 7,
    });
    expect(config.tasks).toEqual({ directory: path.join(root, "tasks"), includeExampleTasks: false, reloadOnChange: true });
    expect(config.dependencies).toEqual({ registry: null, installTimeoutSec: 300 });
    expect(config.notifications).toEqual({ notifyOnFailure: false });
    expect(config.dashboard).toEqual({ enabled: false, host: "127.0.0.1", port: 8787, token: null });
  });

  it("an empty file and empty sections are defaults too", () => {
    const empty = load("# nothing here\n").config;
    const sections = load("scheduler:\ndatabase:\nlogging:\n").config;
    const missing = loadConfigFile(path.join(root, "nope.yaml"), root, {}).config;
    expect(empty.scheduler).toEqual(missing.scheduler);
    expect(sections.database).toEqual(missing.database);
    expect(sections.logging).toEqual(missing.logging);
  });

  it("the shipped config/config.yaml has every key, at its default", () => {
    const shipped = path.resolve(import.meta.dirname, "..", "config", "config.yaml");
    const parsed = parse(readFileSync(shipped, "utf8"));
    expect(parsed).toEqual(DEFAULT_CONFIG_OPTIONS);
    const { config, warnings } = loadConfigFile(shipped, root, {});
    expect(warnings).toEqual([]);
    expect({ ...config, configPath: "" }).toEqual({ ...loadConfigFile(configPath, root, {}).config, configPath: "" });
  });

  it("the result is deep-frozen", () => {
    const { config } = load("scheduler:\n  max_concurrent_runs: 2\n");
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.scheduler)).toBe(true);
    expect(() => {
      (config.scheduler as { maxConcurrentRuns: number }).maxConcurrentRuns = 3;
    }).toThrow();
  });
});

describe("values", () => {
  it("reads every key", () => {
    const { config, warnings } = load(`
scheduler:
  timezone: Europe/Paris
  max_memory_usage: 256
  memory_check_interval: 2.5
  max_concurrent_runs: 3
  shutdown_grace: 0
  isolation: task
database:
  path: /var/lib/taskhost/db.sqlite
  history_per_task: 50
  url: postgres://th:pw@db.example:5432/th
  lease: 4
logging:
  level: DEBUG
  directory: var/log
  max_size: 512 KB
  rotation: hourly
  retention: 3
tasks:
  directory: jobs/
  include_example_tasks: true
  reload_on_change: false
dependencies:
  registry: https://registry.example.com/
  install_timeout: 60
notifications:
  notify_on_failure: true
dashboard:
  enabled: true
  host: 0.0.0.0
  port: 0
  token: s3cret-0123456789abc
`);
    expect(warnings).toEqual([]);
    expect(config.scheduler).toEqual({
      timezone: "Europe/Paris",
      timezoneIsLocal: false,
      maxMemoryUsageBytes: 256 * 1024 * 1024,
      memoryCheckIntervalSec: 2.5,
      maxConcurrentRuns: 3,
      shutdownGraceSec: 0,
      isolation: "task",
    });
    expect(config.database).toEqual({
      path: "/var/lib/taskhost/db.sqlite",
      historyPerTask: 50,
      url: "postgres://th:pw@db.example:5432/th",
      leaseSec: 4,
    });
    expect(config.logging).toEqual({
      level: "debug",
      directory: path.join(root, "var", "log"),
      maxSizeBytes: 512 * 1024,
      rotation: "hourly",
      retention: 3,
    });
    expect(config.tasks).toEqual({ directory: path.join(root, "jobs"), includeExampleTasks: true, reloadOnChange: false });
    expect(config.dependencies).toEqual({ registry: "https://registry.example.com/", installTimeoutSec: 60 });
    expect(config.notifications.notifyOnFailure).toBe(true);
    expect(config.dashboard).toEqual({ enabled: true, host: "0.0.0.0", port: 0, token: "s3cret-0123456789abc" });
  });

  it("relative paths are relative to the project root, not the config file or cwd", () => {
    const other = path.join(root, "elsewhere", "my.yaml");
    mkdirSync(path.dirname(other));
    writeFileSync(other, "database:\n  path: db/x.db\ntasks:\n  directory: ../outside\n");
    const { config } = loadConfigFile(other, root, {});
    expect(config.database.path).toBe(path.join(root, "db", "x.db"));
    expect(config.tasks.directory).toBe(path.resolve(root, "..", "outside"));
    expect(config.configPath).toBe(other);
  });

  it("a relative config path is taken from the project root", () => {
    writeFileSync(configPath, "scheduler:\n  max_concurrent_runs: 4\n");
    expect(loadConfigFile("config/config.yaml", root, {}).config.scheduler.maxConcurrentRuns).toBe(4);
  });

  it("time zones: local, IANA names in any case, UTC", () => {
    expect(load("scheduler:\n  timezone: local\n").config.scheduler).toMatchObject({ timezone: localZone, timezoneIsLocal: true });
    expect(load("scheduler:\n  timezone: america/new_york\n").config.scheduler.timezone).toBe("America/New_York");
    expect(load("scheduler:\n  timezone: UTC\n").config.scheduler.timezone).toBe("UTC");
  });

  it("dashboard token comes from TASKHOST_DASHBOARD_TOKEN when the file has none", () => {
    expect(load("dashboard:\n  token: null\n", { TASKHOST_DASHBOARD_TOKEN: "from-env-0123456789" }).config.dashboard.token).toBe("from-env-0123456789");
    expect(load("", { TASKHOST_DASHBOARD_TOKEN: "from-env-0123456789" }).config.dashboard.token).toBe("from-env-0123456789");
    expect(load("dashboard:\n  token: file-token-0123456789\n", { TASKHOST_DASHBOARD_TOKEN: "from-env-0123456789" }).config.dashboard.token).toBe("file-token-0123456789");
    expect(load("", { TASKHOST_DASHBOARD_TOKEN: "" }).config.dashboard.token).toBeNull();
    // A token from the environment satisfies the off-loopback rule.
    const { config } = load("dashboard:\n  enabled: true\n  host: 0.0.0.0\n", { TASKHOST_DASHBOARD_TOKEN: "t-0123456789abcdef" });
    expect(config.dashboard.token).toBe("t-0123456789abcdef");
  });

  it("refuses a dashboard token shorter than 16 characters (issue 11.15), from the file or the environment", () => {
    expect(() => load('dashboard:\n  token: "x"\n')).toThrow(/config\/config\.yaml:2: .*dashboard\.token is 1 character\(s\); use at least 16/);
    expect(() => load("", { TASKHOST_DASHBOARD_TOKEN: "short" })).toThrow(/TASKHOST_DASHBOARD_TOKEN is 5 character\(s\); use at least 16/);
  });

  it("database.url comes from TASKHOST_DATABASE_URL when the file has none, and a wrong one is refused without echoing it", () => {
    expect(load("", { TASKHOST_DATABASE_URL: "postgresql://a:b@h/db" }).config.database.url).toBe("postgresql://a:b@h/db");
    expect(load("database:\n  url: postgres://f@h/db\n", { TASKHOST_DATABASE_URL: "postgres://e@h/db" }).config.database.url).toBe("postgres://f@h/db");
    expect(load("", {}).config.database.url).toBeNull();
    let message = "";
    try {
      load("database:\n  url: mysql://user:hunter2@h/db\n");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/config\.yaml:2: config key database\.url must be a postgres:\/\/user:password@host:port\/database URL or null/);
    expect(message).not.toContain("hunter2");
    expect(() => load("database:\n  lease: 0\n")).toThrow(/database\.lease must be a number of seconds >= 1/);
    expect(() => load("database:\n  lease: 0.5\n")).toThrow(/database\.lease must be a number of seconds >= 1, got 0\.5/);
  });

  it("resolveConfig is pure and works on plain objects (no file, no lines)", () => {
    const { config } = resolveConfig(
      { scheduler: { max_concurrent_runs: 2 } },
      { projectRoot: root, configPath, env: {} },
    );
    expect(config.scheduler.maxConcurrentRuns).toBe(2);
    expect(() => resolveConfig({ scheduler: { max_concurrent_runs: "x" } }, { projectRoot: root, configPath, env: {} })).toThrow(
      /^config\/config\.yaml: config key scheduler\.max_concurrent_runs must be a positive integer/,
    );
  });
});

describe("validation", () => {
  it("names the file, key and line of a wrong type", () => {
    const err = errorOf("# comment\nscheduler:\n  timezone: UTC\n  max_concurrent_runs: many\n");
    expect(err.message).toBe(
      'config/config.yaml:4: config key scheduler.max_concurrent_runs must be a positive integer, got "many"; ' +
        "fix the value or remove the key to use the default (8)",
    );
    expect(err.file).toBe("config/config.yaml");
    expect(err.key).toBe("scheduler.max_concurrent_runs");
    expect(err.line).toBe(4);
  });

  const bad: [string, string, number, RegExp][] = [
    ["scheduler", "timezone: Mars/Olympus", 2, /scheduler\.timezone must be an IANA time zone/],
    ["scheduler", "timezone: +02:00", 2, /scheduler\.timezone/],
    ["scheduler", "timezone: 5", 2, /scheduler\.timezone/],
    ["scheduler", "max_memory_usage: -1", 2, /scheduler\.max_memory_usage must be a number of MB > 0, got -1/],
    ["scheduler", "memory_check_interval: 0", 2, /scheduler\.memory_check_interval must be a number of seconds > 0/],
    ["scheduler", "max_concurrent_runs: 1.5", 2, /scheduler\.max_concurrent_runs must be a positive integer, got 1\.5/],
    ["scheduler", "max_concurrent_runs: 0", 2, /scheduler\.max_concurrent_runs/],
    ["scheduler", "shutdown_grace: -5", 2, /scheduler\.shutdown_grace must be a number of seconds >= 0/],
    ["database", "path: ''", 2, /database\.path must be a path/],
    ["database", "path: [a]", 2, /database\.path must be a path .* got a list/],
    ["database", "history_per_task: 0", 2, /database\.history_per_task must be a positive integer/],
    ["logging", "level: verbose", 2, /logging\.level/],
    ["logging", "max_size: lots", 2, /logging\.max_size/],
    ["logging", "rotation: weekly", 2, /logging\.rotation/],
    ["logging", "retention: -1", 2, /logging\.retention/],
    ["logging", "directory: {}", 2, /logging\.directory/],
    ["tasks", "directory: 3", 2, /tasks\.directory/],
    ["tasks", "include_example_tasks: yes", 2, /tasks\.include_example_tasks must be true or false, got "yes"/],
    ["tasks", "reload_on_change: 1", 2, /tasks\.reload_on_change must be true or false/],
    ["dependencies", "registry: not a url", 2, /dependencies\.registry must be an http\(s\) URL or null/],
    ["dependencies", "registry: ftp://x", 2, /dependencies\.registry/],
    ["dependencies", "install_timeout: soon", 2, /dependencies\.install_timeout must be a number of seconds > 0/],
    ["notifications", "notify_on_failure: sometimes", 2, /notifications\.notify_on_failure must be true or false/],
    ["dashboard", "enabled: on", 2, /dashboard\.enabled must be true or false/],
    ["dashboard", "host: ''", 2, /dashboard\.host must be a non-empty string/],
    ["dashboard", "port: 70000", 2, /dashboard\.port must be a port number 0-65535/],
    ["dashboard", "port: '80'", 2, /dashboard\.port/],
    ["dashboard", "token: 42", 2, /dashboard\.token must be a non-empty string or null/],
  ];
  for (const [section, line, lineNo, pattern] of bad) {
    it(`refuses ${section}.${line}`, () => {
      const err = errorOf(`${section}:\n  ${line}\n`);
      expect(err.message).toMatch(pattern);
      expect(err.message.startsWith(`config/config.yaml:${lineNo}: `)).toBe(true);
      expect(err.line).toBe(lineNo);
      expect(err.key).toBe(`${section}.${line.split(":")[0]}`);
    });
  }

  it("a section that is not a mapping", () => {
    const err = errorOf("scheduler: 5\n");
    expect(err.message).toBe("config/config.yaml:1: config section scheduler must be a mapping of keys, got 5");
  });

  it("a file that is not a mapping", () => {
    expect(errorOf("- a\n- b\n").message).toMatch(/^config\/config\.yaml:1: config must be a mapping of sections/);
  });

  it("a dashboard off loopback needs a token", () => {
    const err = errorOf("dashboard:\n  enabled: true\n  host: 0.0.0.0\n");
    expect(err.message).toMatch(/^config\/config\.yaml:3: dashboard\.host is "0\.0\.0\.0" \(not loopback\), which requires dashboard\.token/);
    // Loopback needs none; disabled needs none.
    expect(load("dashboard:\n  enabled: true\n  host: localhost\n").config.dashboard.enabled).toBe(true);
    expect(load("dashboard:\n  enabled: true\n  host: ::1\n").config.dashboard.enabled).toBe(true);
    expect(load("dashboard:\n  enabled: false\n  host: 0.0.0.0\n").config.dashboard.enabled).toBe(false);
  });

  it("a config path outside the project is shown in full", () => {
    const outside = mkdtempSync(path.join(os.tmpdir(), "taskhost-config-out-"));
    try {
      const file = path.join(outside, "c.yaml");
      writeFileSync(file, "scheduler:\n  shutdown_grace: x\n");
      expect(() => loadConfigFile(file, root, {})).toThrow(`${file}:2: config key scheduler.shutdown_grace`);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe("unknown keys", () => {
  it("are warnings with their line, with a suggestion for near misses", () => {
    const { config, warnings } = load("scheduler:\n  max_concurent_runs: 3\nschedular:\n  x: 1\ndashboard:\n  colour: blue\n");
    expect(config.scheduler.maxConcurrentRuns).toBe(8);
    expect(warnings).toEqual([
      {
        key: "schedular",
        line: 3,
        message: 'config/config.yaml:3: unknown config section "schedular" is ignored (did you mean scheduler?)',
      },
      {
        key: "scheduler.max_concurent_runs",
        line: 2,
        message: "config/config.yaml:2: unknown config key scheduler.max_concurent_runs is ignored (did you mean max_concurrent_runs?)",
      },
      { key: "dashboard.colour", line: 6, message: "config/config.yaml:6: unknown config key dashboard.colour is ignored" },
    ]);
  });
});

describe("YAML syntax errors", () => {
  it("give file:line:col", () => {
    const err = errorOf("scheduler:\n  max_concurrent_runs: 3\n  timezone: [UTC\n");
    expect(err.message).toMatch(/^config\/config\.yaml:\d+:\d+: YAML syntax error: /);
    expect(err.line).toBeGreaterThanOrEqual(3);
    expect(err.column).toBeGreaterThan(0);
  });

  it("an unclosed [, { or quote is placed where it opens, not where the parser gave up", () => {
    const bracket = errorOf("scheduler:\n  timezone: UTC\nalerts:\n  rules: [failure, missed\n  channels:\n    ops:\n      type: webhook\n");
    expect(bracket.message).toMatch(/^config\/config\.yaml:4:10: YAML syntax error: the \[ here is not closed \(the parser noticed at line 5: /);
    expect(bracket.line).toBe(4);
    // Nested: the [ inside a closed { is the open one; a # comment's brackets do not count.
    const nested = errorOf("# [ not this\nalerts:\n  x: {a: 1}\n  rules: [{a: 1}, b\n  y: 2\n");
    expect(nested.message).toMatch(/^config\/config\.yaml:4:10: /);
    const map = errorOf("scheduler: {timezone: UTC\nlogging:\n  level: info\n");
    expect(map.message).toMatch(/^config\/config\.yaml:1:12: YAML syntax error: the \{ here is not closed/);
    const quote = errorOf('scheduler:\n  timezone: "UTC\nlogging:\n  level: info\n');
    expect(quote.message).toMatch(/^config\/config\.yaml:2:13: YAML syntax error: the " here is not closed \(the parser noticed at line 5: Missing closing "quote\)/);
    // Not about an opener: the parser's own place stays.
    expect(errorOf("scheduler:\n  timezone UTC\n  max_concurrent_runs: 3\n").message).toMatch(/^config\/config\.yaml:2:3: YAML syntax error: Implicit keys/);
  });

  it("point at a bad indent", () => {
    const err = errorOf("scheduler:\n  max_concurrent_runs: 3\n timezone: UTC\n");
    expect(err.message).toBe(
      "config/config.yaml:3:1: YAML syntax error: All mapping items must start at the same column; fix the file (indentation, quotes, colons)",
    );
    expect(err.line).toBe(3);
    expect(errorOf("scheduler:\n  a: 1\n\tb: 2\n").message).toMatch(/^config\/config\.yaml:3:1: YAML syntax error: Tabs/);
  });

  it("duplicate keys are an error at the second one", () => {
    const err = errorOf("scheduler:\n  max_concurrent_runs: 3\n  max_concurrent_runs: 4\n");
    expect(err.message).toMatch(/^config\/config\.yaml:3:3: YAML syntax error: Map keys must be unique/);
  });

  it("repeated parses keep their own line numbers (no shared LineCounter)", () => {
    const context = { projectRoot: root, configPath, env: {} };
    for (let i = 0; i < 3; i++) {
      expect(() => resolveConfigSource("a: 1\nscheduler:\n  port: [\n", context)).toThrow(/^config\/config\.yaml:[34]:/);
    }
  });
});

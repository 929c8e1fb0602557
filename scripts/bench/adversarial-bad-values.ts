/**
 * Issue 10.11 (and the bad frontmatters and configs issue 10 threw at the host):
 * what cannot be honoured is refused, naming the key, and never kills the host.
 * Bad frontmatters land in a running host's tasks/ at once; bad configs are saved
 * over config.yaml one by one (a reload each) and given to `taskhost start`.
 */
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { LAST_GOOD_CONFIG_FILE } from "../../runtime/config/last-good-config.ts";
import { hostEvents } from "../../tests/support/fault-host.ts";
import { finished, history, status } from "../../tests/support/history.ts";
import { taskSource } from "../../tests/support/task-sources.ts";
import { waitFor } from "../../tests/support/wait-for.ts";
import { inProject, type Scenario } from "./adversarial-support.ts";

/** Frontmatter lines, each refused naming the field (or saying the YAML is bad). */
const FRONTMATTERS = [
  "timeout: 1e300", "timeout: 0x7fffffff1", "timeout: -1", "timeout: 0", "timeout: soon", "timeout: .nan", "timeout: .inf",
  "retry_delay: 1e10", "retry_delay: -3", "retry_count: 1000000", "retry_count: -1", "retry_count: 1.5",
  "memory_limit: 1e12", "memory_limit: 0", "catch_up: sometimes", "overlap: maybe", "timezone: Mars/Olympus",
  "start_date: yesterday", "end_date: 2026-13-45", "start_date: 2026-01-02\nend_date: 2026-01-01", "node_version: not-a-range",
  "node_version: '>=99'", "enabled: maybe", "dependencies: lodash", "dependencies: [1]", "alerts: 3", "ping_url: not a url",
  "ping_url: file:///etc/passwd", "title: [1, 2]", "allow_scripts: sometimes", "description: {a: 1}", "timeout: [", "timeout: 1\ntimeout: 2",
];

/** config.yaml texts, each refused naming its key (or the file's line). */
const CONFIGS: Array<[string, string]> = [
  ["scheduler.max_concurrent_runs", "scheduler:\n  max_concurrent_runs: 1e9"],
  ["scheduler.max_concurrent_runs", "scheduler:\n  max_concurrent_runs: 0"],
  ["scheduler.max_concurrent_runs", "scheduler:\n  max_concurrent_runs: .inf"],
  ["scheduler.max_concurrent_runs", "scheduler:\n  max_concurrent_runs: 2.5"],
  ["scheduler.memory_check_interval", "scheduler:\n  memory_check_interval: 1e10"],
  ["scheduler.memory_check_interval", "scheduler:\n  memory_check_interval: 0.001"],
  ["scheduler.shutdown_grace", "scheduler:\n  shutdown_grace: 1e300"],
  ["scheduler.shutdown_grace", "scheduler:\n  shutdown_grace: -5"],
  ["scheduler.max_memory_usage", "scheduler:\n  max_memory_usage: 1e12"],
  ["scheduler.timezone", "scheduler:\n  timezone: Mars/Olympus"],
  ["database.history_per_task", "database:\n  history_per_task: 1e12"],
  ["database.path", "database:\n  path: 42"],
  ["dependencies.install_timeout", "dependencies:\n  install_timeout: 3e9"],
  ["dependencies.registry", "dependencies:\n  registry: not a url"],
  ["logging.level", "logging:\n  level: loud"],
  ["logging.max_size", "logging:\n  max_size: -1"],
  ["dashboard.port", "dashboard:\n  port: 70000"],
  ["dashboard.host", "dashboard:\n  host: 0.0.0.0\n  enabled: true"],
  ["tasks.directory", "tasks:\n  directory: 42"],
  ["scheduler", "scheduler: [1, 2]"],
  ["config.yaml:1", "- a list"],
  ["YAML syntax error", "scheduler:\n  max_concurrent_runs: [\n"],
];

/** The same at start: refused before anything runs, exit code non-zero. */
const AT_START: Array<[string, string]> = [
  ["scheduler.shutdown_grace", "scheduler:\n  shutdown_grace: 1e300"],
  ["scheduler.memory_check_interval", "scheduler:\n  memory_check_interval: 1e10"],
  ["YAML syntax error", "scheduler:\n  max_concurrent_runs: [\n"],
];

export const badValues: Scenario = {
  item: "11",
  attack: "bad frontmatters and configs",
  run: () =>
    inProject({}, async (project) => {
      await project.writeTask("tick.ts", taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("tick");' }));
      const host = await project.start();
      const hostPid = await host.hostPid();
      const let_through: string[] = [];
      // Every bad task file at once.
      await Promise.all(FRONTMATTERS.map((line, i) => project.writeTask(`bad-${i}.ts`, `---\n${line}\n---\n${taskSource({ schedule: "every(1).seconds", body: "" })}`)));
      const tasks = await waitFor(
        async () => {
          const report = await status(project);
          return FRONTMATTERS.every((_, i) => report.tasks.some((t) => t.id === `bad-${i}` && t.state !== "installing")) ? report.tasks : null;
        },
        { timeoutMs: 120_000, what: "every bad task file loaded" },
      );
      FRONTMATTERS.forEach((line, i) => {
        const task = tasks.find((t) => t.id === `bad-${i}`)!;
        const field = line.split(":")[0]!;
        const named = task.error != null && (task.error.includes(`"${field}"`) || /not valid YAML|end_date|node_version|Node/.test(task.error));
        if (task.state !== "error" || !named) let_through.push(`frontmatter ${JSON.stringify(line)}: ${task.state}`);
      });
      // Every bad config, one reload each.
      for (const [key, text] of CONFIGS) {
        const seen = (await hostEvents(project, "config.rejected")).length;
        await writeFile(path.join(project.root, "config", "config.yaml"), `${text}\n`);
        const rejected = await waitFor(async () => (await hostEvents(project, "config.rejected"))[seen], { timeoutMs: 20_000, what: `${key} rejected` }).catch(() => null);
        if (!rejected || !String(rejected.error).includes(key)) let_through.push(`config ${key}: ${rejected ? String(rejected.error).slice(0, 60) : "not rejected"}`);
      }
      await writeFile(path.join(project.root, "config", "config.yaml"), "{}\n");
      const after = Date.now();
      await waitFor(async () => finished(await history(project, "tick")).some((r) => Date.parse(r.startedAt!) > after + 1000), { timeoutMs: 30_000, what: "ticks after the bad values" });
      const report = await status(project);
      const alive = report.host.running && report.host.restarts === 0 && (await host.hostPid()) === hostPid;
      await host.stop();
      // And at start, with no last good configuration to fall back on (a first start).
      await rm(path.join(project.root, "data", LAST_GOOD_CONFIG_FILE), { force: true });
      for (const [key, text] of AT_START) {
        await writeFile(path.join(project.root, "config", "config.yaml"), `${text}\n`);
        const result = await project.cli(["start"], 60_000).catch(() => ({ code: null, stderr: "did not exit within 60 s" }));
        if (result.code === 0 || !result.stderr.includes(key)) let_through.push(`start with ${key}: exit ${result.code}`);
      }
      const tried = FRONTMATTERS.length + CONFIGS.length + AT_START.length;
      return [
        {
          item: "11",
          attack: `${FRONTMATTERS.length} bad frontmatters at once, ${CONFIGS.length} bad configs reloaded, ${AT_START.length} at start (durations past 2³¹ ms, memory past the machine's, wrong types, bad YAML)`,
          refused: { ok: tried - let_through.length, of: tried },
          held: let_through.length === 0 && alive,
          measured: `${let_through.length ? `not refused with its key: ${let_through.slice(0, 4).join("; ")}` : "each refused naming its field or key (file:line)"}; the host ${alive ? "ran on, no restart" : "did NOT run on"}`,
        },
      ];
    }),
};

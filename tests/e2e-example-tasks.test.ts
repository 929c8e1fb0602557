import { existsSync } from "node:fs";
import { copyFile, readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, TempProject } from "./support/temp-project.ts";
import { status } from "./support/history.ts";
import type { RunJson, StatusJson } from "../runtime/host/report-shapes.ts";

/**
 * Every example task in tasks/ is loaded by a host with examples on, and each
 * one's first run succeeds, or fails with a clear message where this machine
 * lacks something (network, a desktop to show notifications).
 */
describe("example tasks", () => {
  let project: TempProject;
  let report: StatusJson;
  let examples: string[];
  const firstRuns = new Map<string, RunJson>();
  const savedPackageDir = process.env.TASKHOST_PACKAGE_DIR;

  beforeAll(async () => {
    project = await TempProject.create({ tasks: { include_example_tasks: true } });
    examples = (await readdir(path.join(REPO, "tasks"))).filter((f) => f.startsWith("example_") && f.endsWith(".ts")).sort();
    for (const file of examples) await copyFile(path.join(REPO, "tasks", file), path.join(project.root, "tasks", file));
    await project.start();
    report = await status(project);
    // First runs, all at once (the host runs up to 8 at a time), each checked below.
    const ids = report.tasks.filter((t) => t.state !== "error").map((t) => t.id);
    const runs = await Promise.all(ids.map(async (id) => [id, await project.cli(["run", id, "--json"])] as const));
    for (const [id, result] of runs) firstRuns.set(id, JSON.parse(result.stdout) as RunJson);
  });
  afterAll(async () => {
    if (savedPackageDir === undefined) delete process.env.TASKHOST_PACKAGE_DIR;
    else process.env.TASKHOST_PACKAGE_DIR = savedPackageDir;
    await project?.cleanup();
  });

  const run = async (id: string): Promise<RunJson> => firstRuns.get(id)!;

  it("loads every example; only the one with an npm dependency is an error task", () => {
    const ids = examples.map((f) => f.replace(/\.ts$/, ""));
    expect(report.tasks.map((t) => t.id).sort()).toEqual(ids);
    expect(ids.length).toBeGreaterThanOrEqual(10);
    for (const task of report.tasks) {
      if (task.id === "example_web_fetch" && task.state === "error") {
        // Its dependency (dayjs) is installed from the npm registry: where that cannot
        // be reached the task is an error task with npm's message.
        expect(task.error).toMatch(/npm|dayjs/);
      } else {
        expect({ id: task.id, state: task.state, error: task.error }).toEqual({ id: task.id, state: "scheduled", error: null });
      }
    }
  });

  it("hello world logs its greeting", async () => {
    const r = await run("example_hello_world");
    expect(r.status).toBe("success");
    expect(r.output).toMatch(/Hello, world! \(run \d+, manual, scheduled for /);
  });

  it("daily cleanup deletes only old files, never the live logs", async () => {
    const r = await run("example_daily_cleanup");
    expect(r.status).toBe("success");
    expect(r.output).toContain("task started");
    expect(r.output).toMatch(/cleanup \{"removed":0/);
    await stat(path.join(project.root, "logs", "tasks.log"));
  });

  it("system monitor reads disk, memory and load", async () => {
    const r = await run("example_system_monitor");
    expect(r.status).toBe("success");
    expect(r.output).toMatch(/system \{"disk \/":[\d.]+,"memory":[\d.]+,"load per CPU":[\d.]+\}/);
  });

  it("external execution runs commands and a script, one timing out on purpose", async () => {
    const r = await run("example_external_execution");
    expect(r.error).toBeNull();
    expect(r.status).toBe("success");
    expect(r.output).toContain("hello from");
    expect(r.output).toMatch(/sleep 5: failed .*timed out after 0.5s/);
    expect(r.output).toMatch(/5 commands: 4 succeeded, 1 failed \(1 timed out\)/);
  });

  it("system notification succeeds and says why nothing was shown on a machine without a desktop", async () => {
    const r = await run("example_system_notification");
    expect(r.status).toBe("success");
    expect(r.output).toContain("notification: Good morning");
    expect(r.output).toMatch(/notification (delivered|not delivered: .+)/);
    if (!hasNotifySend()) expect(r.output).toContain("notification not delivered: not found: notify-send (no desktop notification tool");
  });

  it("config usage reads settings and secrets and records its run, keeping comments", async () => {
    const r = await run("example_config_usage");
    expect(r.status).toBe("success");
    expect(r.output).toContain("config files: config.yaml");
    expect(r.output).toContain('"apiKey":"not set"');
    // Issue 11.4: saved under data/ (writable under the systemd unit, git-ignored), not config/.
    const saved = await readFile(path.join(project.root, "data", "config", "example_config_usage.yaml"), "utf8");
    expect(saved).toContain("runs: 1");
    expect(existsSync(path.join(project.root, "config", "example_config_usage.yaml"))).toBe(false);
    expect(r.output).toContain("recorded run 1 in data/config/example_config_usage.yaml");
  });

  it("helper showcase tours every helper", async () => {
    const r = await run("example_helper_showcase");
    expect(r.error).toBeNull();
    expect(r.status).toBe("success");
    expect(r.output).toContain('step 3/3 "file settled": succeeded');
    expect(r.output).toContain("command not found: definitely-not-a-command-xyz");
    expect(r.output).toMatch(/task error \(parsing a sample\): SyntaxError/);
    expect(r.output).toMatch(/task completed \{"durationMs":\d+\}/);
  });

  it("workflow runs its steps in order and waits for the export to settle", async () => {
    const r = await run("example_workflow");
    expect(r.error).toBeNull();
    expect(r.status).toBe("success");
    expect(r.output).toContain("workflow succeeded: 5 succeeded, 0 failed, 0 skipped");
    expect(r.output).toMatch(/exported 250 rows/);
    const archived = await readdir(path.join(project.root, "data", "example_workflow", "archive"));
    expect(archived).toHaveLength(1);
  });

  it("database report queries SQLite and writes a CSV and a summary", async () => {
    const r = await run("example_database_report");
    expect(r.error).toBeNull();
    expect(r.status).toBe("success");
    const reports = await readdir(path.join(project.root, "data", "reports"));
    const csv = reports.find((f) => f.endsWith(".csv"))!;
    expect(reports.some((f) => f.endsWith(".md"))).toBe(true);
    const lines = (await readFile(path.join(project.root, "data", "reports", csv), "utf8")).trim().split("\r\n");
    expect(lines[0]).toBe("region,product,orders,revenue");
    expect(lines.length).toBe(17); // 4 regions x 4 products + header
  });

  it("web fetch, with its dependency installed, fails its first run clearly without a network", async () => {
    const task = report.tasks.find((t) => t.id === "example_web_fetch")!;
    if (task.state === "error") return; // no registry here: checked above
    const r = await run("example_web_fetch");
    if (r.status === "success") {
      expect(r.output).toMatch(/fetched \{"url":"https:\/\/api\.github\.com\/repos\/nodejs\/node","at":"\d{4}-\d\d-\d\d /); // online
    } else {
      expect(r.status).toBe("failure");
      expect(r.error).toMatch(/^Error: cannot reach https:\/\/api\.github\.com\/repos\/nodejs\/node: .+ \(is this machine online\?\)/);
    }
  });
});

function hasNotifySend(): boolean {
  try {
    execFileSync("sh", ["-c", "command -v notify-send"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

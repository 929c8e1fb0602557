import { existsSync } from "node:fs";
import { hostEvents } from "./support/fault-host.ts";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { finished, history, status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";
import type { StatusJson } from "../runtime/host/report-shapes.ts";

// Issue 11.1: a rejected config edit must not bring the host down at the next restart.

const BAD = "scheduler:\n  max_concurrent_runs: lots\n";


describe("a bad config.yaml and restarts (last good configuration)", () => {
  let project: TempProject;
  const configFile = () => path.join(project.root, "config", "config.yaml");
  beforeEach(async () => {
    project = await TempProject.create({ scheduler: { max_concurrent_runs: 3 } });
    await project.writeTask("tick.ts", taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("tick");' }));
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("keeps running on the last good configuration through `restart` and SIGHUP, and says so everywhere", async () => {
    const host = await project.start();
    await waitFor(() => existsSync(path.join(project.root, "data", "config.last-good.yaml")), { what: "the last good copy" });

    await writeFile(configFile(), BAD);
    await waitFor(async () => (await hostEvents(project, "config.rejected")).length > 0, { what: "config.rejected" });
    const live = await status(project);
    expect(live.host.configError?.error).toContain("scheduler.max_concurrent_runs");
    expect(live.host.configError?.file).toBe("config/config.yaml");
    expect(Date.parse(live.host.configError!.since)).toBeGreaterThan(0);
    const text = await project.cli(["status"]);
    expect(text.stdout).toContain("CONFIG INVALID: config/config.yaml is invalid since");
    // Said once: the host's status carries it, so no warning repeats it on stderr.
    expect(`${text.stdout}${text.stderr}`.match(/max_concurrent_runs/g)).toHaveLength(1);

    // Both name the problem up front.
    const dry = await project.cli(["restart", "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout + dry.stderr).toMatch(/config\/config\.yaml is invalid since .*max_concurrent_runs/s);
    const before = await host.hostPid();
    const restart = await project.cli(["restart"]);
    expect(restart.code, restart.stdout + restart.stderr).toBe(0);
    expect(restart.stdout + restart.stderr).toContain("last good configuration");
    expect(`${restart.stdout}${restart.stderr}`.match(/is invalid since/g)).toHaveLength(1);
    const after = await host.hostPid();
    expect(after).not.toBe(before);

    // The new host runs, says why on its status and in its log, and tasks go on.
    const restarted = await status(project);
    expect(restarted.host.running).toBe(true);
    expect(restarted.host.configError?.error).toContain("max_concurrent_runs");
    expect(restarted.host.configError?.lastGoodSavedAt).toBeTruthy();
    await waitFor(async () => (await hostEvents(project, "config.invalid")).length > 0, { what: "config.invalid in the log" });
    const t = Date.now();
    await waitFor(async () => finished(await history(project, "tick")).some((r) => Date.parse(r.startedAt!) > t), { what: "runs after the restart" });

    // kill -HUP (a graceful restart) too.
    process.kill(host.pid, "SIGHUP");
    await waitFor(async () => (await host.hostPid()) !== after, { what: "the SIGHUP restart", timeoutMs: 30_000 });
    expect((await status(project)).host.configError).toBeTruthy();

    // Fixed: the problem clears, and the fixed file becomes the last good one.
    await writeFile(configFile(), "scheduler:\n  max_concurrent_runs: 5\n");
    await waitFor(async () => (await status(project)).host.configError == null, { what: "the problem to clear" });
    expect(await readFile(path.join(project.root, "data", "config.last-good.yaml"), "utf8")).toContain("max_concurrent_runs: 5");
    expect(host.child.exitCode).toBeNull();
  });

  it("a value refused for its meaning (dashboard.host 0.0.0.0 without a token) does not stop a restart either", async () => {
    const host = await project.start();
    await waitFor(() => existsSync(path.join(project.root, "data", "config.last-good.yaml")), { what: "the last good copy" });
    await writeFile(configFile(), "dashboard:\n  enabled: true\n  host: 0.0.0.0\n");
    await waitFor(async () => (await status(project)).host.configError != null, { what: "the rejection" });
    const before = await host.hostPid();
    const restart = await project.cli(["restart"], 60_000);
    expect(restart.code, restart.stderr).toBe(0);
    expect(await host.hostPid()).not.toBe(before);
    const s: StatusJson = await status(project);
    expect(s.host.configError?.error).toContain("dashboard.token");
  });

  it("a cold start with a bad file and no last good copy refuses, naming the key", async () => {
    await writeFile(configFile(), BAD);
    const result = await project.cli(["start"], 30_000);
    expect(result.code).toBe(78); // EX_CONFIG: the systemd unit does not retry it
    expect(result.stderr).toContain("scheduler.max_concurrent_runs");
    expect(existsSync(path.join(project.root, "data", "taskhost.pid"))).toBe(false);
  });

  it("a cold start with a bad file but a last good copy starts on it, loudly", async () => {
    await mkdir(path.join(project.root, "data"), { recursive: true });
    await writeFile(path.join(project.root, "data", "config.last-good.yaml"), "scheduler:\n  max_concurrent_runs: 2\n");
    await writeFile(configFile(), BAD);
    const host = await project.start();
    expect(host.output()).toContain("config/config.yaml is invalid since");
    expect((await status(project)).host.configError?.error).toContain("max_concurrent_runs");
  });

  it("`restart` with a bad file and no last good copy refuses up front; a new host that cannot start is reported at once", async () => {
    const host = await project.start();
    await waitFor(() => existsSync(path.join(project.root, "data", "config.last-good.yaml")), { what: "the last good copy" });
    await rm(path.join(project.root, "data", "config.last-good.yaml"));
    await writeFile(configFile(), BAD);
    await waitFor(async () => (await status(project)).host.configError != null, { what: "the rejection" });
    for (const args of [["restart", "--dry-run"], ["restart"]]) {
      const refused = await project.cli(args);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("a new host could not start");
      expect(refused.stderr).toContain("max_concurrent_runs");
    }
    expect((await status(project)).host.running).toBe(true);

    // Now a new host that fails for another reason: its cache folder is a file.
    await writeFile(configFile(), "scheduler:\n  max_concurrent_runs: 3\n");
    await waitFor(async () => (await status(project)).host.configError == null, { what: "the fix" });
    const cache = path.join(project.root, "data", "cache");
    await rm(cache, { recursive: true, force: true });
    await writeFile(cache, "not a folder");
    const t0 = Date.now();
    const failed = await project.cli(["restart", "--force"], 60_000);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("the new host could not start");
    expect(failed.stderr).toContain("cache");
    expect(Date.now() - t0).toBeLessThan(30_000);
    await host.exited;
  });
});

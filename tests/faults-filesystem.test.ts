import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { duplicateOccurrences, finished, history, status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";
import { giveToUnprivileged, spawnStart, type Proc } from "./support/fault-host.ts";

/** The disk says no: a read-only data/ and a logs/ path that cannot exist. */
describe("a host whose files cannot be written", () => {
  let project: TempProject;
  const procs: Proc[] = [];
  beforeEach(async () => {
    project = await TempProject.create({ scheduler: { max_concurrent_runs: 2 } });
  });
  afterEach(async () => {
    for (const proc of procs.splice(0)) await proc.kill9();
    await project.cleanup();
  });

  /** `taskhost start` as a user file permissions apply to (not root), up and answering. */
  async function startUnprivileged(): Promise<Proc> {
    await giveToUnprivileged(project);
    const host = spawnStart(project, { unprivileged: true });
    procs.push(host);
    await waitFor(async () => {
      if (host.child.exitCode != null) throw new Error(`host exited (${host.child.exitCode}):\n${host.output()}`);
      return (await status(project)).host.running;
    }, { timeoutMs: 30_000, what: "the host to start" });
    return host;
  }

  it("data/ turning read-only: the host survives and loses nothing (the open journal still takes each claim)", async () => {
    await project.writeTask("ticks.ts", taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("tick");' }));
    const data = path.join(project.root, "data");
    const host = await startUnprivileged();
    await waitFor(async () => finished(await history(project, "ticks")).length >= 2, { what: "runs before" });

    await chmod(data, 0o555);
    const lockedAt = Date.now();
    // No new file can be made in data/, but the journal is already open: claims stay durable.
    await waitFor(async () => (await history(project, "ticks")).filter((r) => r.status === "success" && Date.parse(r.startedAt!) > lockedAt + 500).length >= 3, {
      what: "runs while data/ is read-only",
    });
    await chmod(data, 0o755);
    const lockedRuns = (await history(project, "ticks")).filter((r) => Date.parse(r.startedAt ?? "0") > lockedAt + 500).map((r) => r.id);
    expect(host.child.exitCode).toBeNull();
    host.child.kill("SIGTERM");
    expect(await host.exited).toBe(0);

    // After a stop and with no host, the ledger on disk has every run of the read-only period.
    const after = await history(project, "ticks");
    for (const id of lockedRuns) expect(after.map((r) => r.id)).toContain(id);
    expect(duplicateOccurrences(after)).toEqual([]);
    expect((await readFile(path.join(data, "scheduler.db"))).length).toBeGreaterThan(0);
  });

  it("data/ read-only at start: refuses, naming the path", async () => {
    await project.writeTask("ticks.ts", taskSource({ schedule: "every(1).seconds", body: "" }));
    const data = path.join(project.root, "data");
    await mkdir(data, { recursive: true });
    await giveToUnprivileged(project);
    await chmod(data, 0o555);
    const host = spawnStart(project, { unprivileged: true });
    procs.push(host);
    const code = await Promise.race([host.exited, waitFor(() => false, { timeoutMs: 30_000, what: "the host to refuse" })]);
    expect(code).not.toBe(0);
    expect(host.output()).toContain(data);
    expect(host.output()).toMatch(/permission denied|EACCES/i);
  });

  it("logs/ under a regular file: the host runs, logging to the console, and says so", async () => {
    await writeFile(path.join(project.root, "blocker"), "a file where a folder should be\n");
    await project.writeConfig({ logging: { directory: "blocker/logs" } });
    await project.writeTask("healthy.ts", taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("alive");' }));
    await project.writeTask("fails.ts", taskSource({ schedule: "every(1).seconds", body: 'throw new Error("boom");' }));
    const host = await project.start();
    await waitFor(async () => finished(await history(project, "healthy")).length >= 2, { what: "runs" });
    const fails = await waitFor(async () => finished(await history(project, "fails"))[0], { what: "a failed run" });
    expect(fails.status).toBe("failure");
    expect(finished(await history(project, "healthy")).every((r) => r.status === "success")).toBe(true);
    expect(host.output()).toMatch(/cannot write logs in .*blocker\/logs.*console only/);
    expect(host.output()).toContain("[healthy] alive");
    expect((await status(project)).host.running).toBe(true);
    expect(await host.stop()).toBe(0);

    // --daemon has no console to fall back to: it must refuse with the path, not crash.
    const daemon = await project.cli(["start", "--daemon"], 30_000);
    expect(daemon.code).not.toBe(0);
    expect(daemon.stderr).toContain("blocker/logs");
    expect(daemon.stderr).not.toMatch(/\n\s+at /);
  });
});

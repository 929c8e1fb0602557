/**
 * The composition root: one disposer stack closes what was built, in reverse
 * order, for a start that fails half-way and for a stop. The host runs in
 * this process (startHost), on a real ledger, socket, workers and dashboard.
 */
import { existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DisposerStack } from "../runtime/compose/disposer-stack.ts";
import { startHost } from "../runtime/compose/start-host.ts";
import { callHost } from "../runtime/cli/control-client.ts";
import { hostFiles } from "../runtime/host/host-files.ts";
import { openLedger } from "../runtime/store/open-ledger.ts";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { waitFor } from "./support/wait-for.ts";
import { readHostLog } from "./support/host-log.ts";

describe("DisposerStack", () => {
  it("closes in reverse order, each step once; a failing step is reported and the rest still close", async () => {
    const closed: string[] = [];
    const failures: string[] = [];
    const stack = new DisposerStack((name, error) => failures.push(`${name}: ${(error as Error).message}`));
    stack.defer("first", () => void closed.push("first"));
    stack.use("second", { close: async () => void closed.push("second") });
    stack.defer("broken", () => {
      throw new Error("will not close");
    });
    stack.defer("last", async () => void closed.push("last"));
    await Promise.all([stack.dispose(), stack.dispose()]);
    await stack.dispose();
    expect(closed).toEqual(["last", "second", "first"]);
    expect(failures).toEqual(["broken: will not close"]);
    expect(() => stack.defer("late", () => {})).toThrow(/after its runtime began closing/);
  });
});

describe("startHost", () => {
  let project: TempProject;
  let blocker: net.Server;
  let port: number;
  beforeEach(async () => {
    blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    port = (blocker.address() as net.AddressInfo).port;
    project = await TempProject.create({ dashboard: { enabled: true, host: "127.0.0.1", port } });
    await project.writeTask("tick.ts", taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("tick");' }));
  });
  afterEach(async () => {
    await new Promise((resolve) => blocker.close(resolve));
    await project.cleanup();
  });

  const files = () => hostFiles(path.join(project.root, "data"));
  const start = () => startHost({ projectRoot: project.root, configPath: "config/config.yaml" });

  /** What a host holds while it runs: after a failed start or a stop, nothing is held any more. */
  async function expectReleased(tasks = ["tick"]): Promise<void> {
    expect(existsSync(files().pidFile)).toBe(false);
    expect(existsSync(files().socket)).toBe(false);
    // The ledger's writer lock is free: a command could open it now.
    const ledger = await openLedger({ path: path.join(project.root, "data", "scheduler.db") });
    expect((await ledger.listTasks()).map((t) => t.id).sort()).toEqual(tasks);
    await ledger.close();
  }

  it("a start that fails at its last step (the dashboard's port is taken) closes everything it built, and says why in the log", async () => {
    const rootBefore = process.env.TASKHOST_PROJECT_ROOT;
    await expect(start()).rejects.toThrow(new RegExp(String(port)));
    await expectReleased();
    const log = await readHostLog(project.root);
    expect(log).toContain('"event":"host.start.failed"');
    // The runtime never writes its paths into the process's environment.
    expect(process.env.TASKHOST_PROJECT_ROOT).toBe(rootBefore);
  });

  it("stop() closes the same stack: a run in flight gets its grace while the socket still answers, then everything is released", async () => {
    await project.writeConfig({ dashboard: { enabled: false } });
    const began = path.join(project.root, "began");
    const body = `await (await import("node:fs/promises")).writeFile(${JSON.stringify(began)}, ""); await new Promise((resolve) => setTimeout(resolve, 1500));`;
    await project.writeTask("slow.ts", taskSource({ schedule: "every(1).seconds", body }));
    const host = await start();
    const ping = () => callHost<{ pid: number; running: number }>(files().socket, "ping", {});
    await waitFor(async () => existsSync(began), { what: "a run's code to begin" });
    const stopping = host.stop({ reason: "test", graceSec: 10 });
    // Scheduling has stopped, the runs have their grace, and commands are still answered.
    expect((await ping()).pid).toBe(process.pid);
    await stopping;
    expect(await host.stopped).toEqual({ restart: false });
    await expect(ping()).rejects.toMatchObject({ code: "ERR_NO_HOST" });
    await expectReleased(["slow", "tick"]);
    const ledger = await openLedger({ path: path.join(project.root, "data", "scheduler.db") });
    // All of them: while a loaded machine boots the first run's worker, each second's occurrence is skipped
    // (a CI run saw more than 10 skipped, newer than the run that succeeded).
    const runs = await ledger.listRuns("slow", { limit: 1000 });
    await ledger.close();
    // The run in flight finished within its grace: none was cut off (occurrences that came while it ran are skipped).
    expect(runs.some((r) => r.status === "success"), JSON.stringify(runs.map((r) => [r.id, r.status, r.error]))).toBe(true);
    expect(runs.filter((r) => r.status !== "success" && r.status !== "skipped")).toEqual([]);
    const log = await readHostLog(project.root);
    expect(log).toMatch(/"event":"host.stop".*"reason":"test"/);
  });
});

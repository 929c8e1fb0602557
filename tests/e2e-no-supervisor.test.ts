import { spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BIN, descendants, SHELL_BIN, TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { finished, history, status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";

/**
 * `start --no-supervisor`, as systemd's unit runs it: the host is the one process
 * users see (its PID in status and the PID file), a restart is exit 75 for the
 * service manager (here the test, restarting on a non-zero exit as Restart=on-failure
 * does), and `taskhost restart` waits for the new host the manager starts.
 */
describe("start --no-supervisor", () => {
  let project: TempProject;
  afterEach(async () => {
    await project.cleanup();
  });

  it("runs the host in the started process; restart exits 75 and the new host is waited for; stop exits 0", async () => {
    project = await TempProject.create({ scheduler: { shutdown_grace: 1 } });
    await project.writeTask("tick.ts", taskSource({ schedule: "every(1).seconds", body: "" }));
    const first = await project.start(["--no-supervisor"]);
    const report = await status(project);
    expect(report.host.pid).toBe(first.pid);
    expect(await first.hostPid()).toBe(first.pid);
    // No second taskhost process (esbuild's service is its only child): the started process hosts the runs itself.
    const names = await Promise.all([first.pid, ...descendants(first.pid)].map((pid) => readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")));
    expect(names.map((name) => name.trim()).filter((name) => name.startsWith("taskhost"))).toEqual(["taskhost"]);
    await waitFor(async () => finished(await history(project, "tick")).some((r) => r.status === "success"), { what: "a run of tick" });

    const dry = await project.cli(["restart", "--dry-run"]);
    expect(dry.stdout).toContain(`dry run: would restart the host (pid ${first.pid}, without a supervisor: it would exit 75 for its service manager to start a new one)`);

    // `restart` as a user runs it, its output read as it comes.
    const cli = spawn(process.execPath, [BIN, "restart"], { cwd: project.root, env: { ...process.env, NO_COLOR: "1" } });
    let stdout = "";
    let stderr = "";
    cli.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    cli.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const cliExit = new Promise<number | null>((resolve) => cli.on("close", resolve));
    expect(await first.exited).toBe(75);
    await waitFor(() => stdout.includes(`the host (pid ${first.pid}) has exited; waiting for its service manager to start a new one`), {
      what: "restart to say it waits for the service manager",
    });
    expect(first.output()).toContain("taskhost: exiting with code 75 to be restarted: with --no-supervisor, the service manager starts the new host");
    const second = await project.start(["--no-supervisor"]);
    expect(await cliExit, stderr).toBe(0);
    expect(stdout).toMatch(new RegExp(`restarted in \\d+ ms: pid ${first.pid} -> ${second.pid}\\n`));
    expect((await status(project)).host.pid).toBe(second.pid);

    const stopped = await project.cli(["stop"]);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(await second.exited).toBe(0);
  });

  it("waits for a lock a command holds (the gap while a service manager restarts it) instead of failing for good", async () => {
    project = await TempProject.create();
    await project.writeTask("tick.ts", taskSource({ schedule: "every(1).seconds", body: "" }));
    // A live Node process named in the PID file, as a command that found no host holds it.
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 2500)"]);
    const holderExit = new Promise((resolve) => holder.on("exit", resolve));
    await mkdir(path.join(project.root, "data"), { recursive: true });
    await writeFile(path.join(project.root, "data", "taskhost.pid"), `${holder.pid}\n`);
    const host = await project.start(["--no-supervisor"]);
    await holderExit;
    expect(host.output()).toContain(`taskhost: the project's lock is held by pid ${holder.pid} (a command, or a host still stopping); waiting up to 30 s for it`);
    expect((await status(project)).host.pid).toBe(host.pid);
    expect(await host.stop()).toBe(0);
  });

  it("a SIGTERM while it waits for the lock ends the wait: it exits 0, having started nothing", async () => {
    project = await TempProject.create();
    await project.writeTask("tick.ts", taskSource({ schedule: "every(1).seconds", body: "" }));
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60_000)"]);
    try {
      await mkdir(path.join(project.root, "data"), { recursive: true });
      await writeFile(path.join(project.root, "data", "taskhost.pid"), `${holder.pid}\n`);
      const child = spawn(SHELL_BIN, ["start", "--no-supervisor"], { cwd: project.root, env: { ...process.env, NO_COLOR: "1", TASKHOST_NODE: process.execPath } });
      let output = "";
      child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
      child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      await waitFor(() => output.includes("waiting up to 30 s for it"), { what: "the wait for the lock" });
      const t0 = Date.now();
      child.kill("SIGTERM");
      // Before, the signal killed the process (code null); generous: the 30 s wait is what must not happen.
      expect(await exited, output).toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(output).not.toContain("host started");
    } finally {
      holder.kill();
    }
  });

  it("refuses at once, naming it, when the lock's holder is a host that answers", async () => {
    project = await TempProject.create();
    await project.writeTask("tick.ts", taskSource({ schedule: "every(1).seconds", body: "" }));
    const host = await project.start(["--no-supervisor"]);
    const t0 = Date.now();
    const second = await project.cli(["start", "--no-supervisor"]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`a host is already running for this project (pid ${host.pid}`);
    expect(second.stderr).not.toContain("waiting up to 30 s");
    // Generous: the 30-s wait for a lock is what must not happen.
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(await host.stop()).toBe(0);
  });

  it("takes one Ctrl-C delivered twice (the terminal's and npm's copy) as one graceful stop", async () => {
    project = await TempProject.create({ scheduler: { shutdown_grace: 1 } });
    await project.writeTask("long.ts", taskSource({ schedule: "every(1).seconds", body: "await new Promise((r) => setTimeout(r, 30_000));", frontmatter: { timeout: 60 } }));
    const host = await project.start(["--no-supervisor"]);
    await waitFor(async () => (await status(project)).tasks.some((t) => t.schedules.some((sch) => sch.lastRun?.status === "running")), { what: "a run of long in flight" });
    process.kill(host.pid, "SIGINT");
    // Apart enough to be two deliveries (two kills in a row may merge into one pending signal), as npm's copy comes.
    await new Promise((resolve) => setTimeout(resolve, 50));
    process.kill(host.pid, "SIGINT");
    // Not 130 ("again: stopping now"): the run got its grace and was recorded cut off.
    expect(await host.exited, host.output()).toBe(0);
    expect(host.output()).not.toContain("again: stopping now");
    expect(finished(await history(project, "long")).map((r) => r.status)).toContain("interrupted");
  });

  it("refuses --daemon with --no-supervisor, naming both", async () => {
    project = await TempProject.create();
    const result = await project.cli(["start", "--daemon", "--no-supervisor"]);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain("--daemon and --no-supervisor do not go together");
  });
});

import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { BIN, descendants, TempProject } from "./support/temp-project.ts";
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
    const commands = await Promise.all(descendants(first.pid).map((pid) => readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")));
    expect(commands.filter((command) => command.includes("taskhost"))).toEqual([]);
    await waitFor(async () => finished(await history(project, "tick")).some((r) => r.status === "success"), { what: "a run of tick" });

    // `restart` as a user runs it, its output read as it comes.
    const cli = spawn(process.execPath, [BIN, "restart"], { cwd: project.root, env: { ...process.env, NO_COLOR: "1" } });
    let stdout = "";
    let stderr = "";
    cli.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    cli.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const cliExit = new Promise<number | null>((resolve) => cli.on("close", resolve));
    expect(await first.exited).toBe(75);
    await waitFor(() => stdout.includes(`the host (pid ${first.pid}) has exited to be restarted; waiting for its service manager to start it again`), {
      what: "restart to say it waits for the service manager",
    });
    const second = await project.start(["--no-supervisor"]);
    expect(await cliExit, stderr).toBe(0);
    expect(stdout).toMatch(new RegExp(`restarted in \\d+ ms: pid ${first.pid} -> ${second.pid}\\n`));
    expect((await status(project)).host.pid).toBe(second.pid);

    const stopped = await project.cli(["stop"]);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(await second.exited).toBe(0);
  });

  it("refuses --daemon with --no-supervisor, naming both", async () => {
    project = await TempProject.create();
    const result = await project.cli(["start", "--daemon", "--no-supervisor"]);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain("--daemon and --no-supervisor do not go together");
  });
});

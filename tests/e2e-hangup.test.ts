import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BIN, SHELL_BIN, TempProject, descendants } from "./support/temp-project.ts";
import { history } from "./support/history.ts";
import { hostEvents } from "./support/fault-host.ts";
import { waitFor } from "./support/wait-for.ts";
import { callHost } from "../runtime/cli/control-client.ts";
import { hostFiles } from "../runtime/host/host-files.ts";

// Issue 11.3: closing the terminal of `npm start` (SIGHUP to the foreground group, then
// npm's SIGTERM) must still give runs their grace and leave no PID file or socket behind.

const SLOW = `import { repeat, every, type TaskContext } from "taskhost";
export default class {
  @repeat(every(1).hours)
  async start(ctx: TaskContext) {
    ctx.log.info("begun");
    await new Promise((resolve) => setTimeout(resolve, 3000));
    ctx.log.info("done after its grace");
  }
}
`;

describe("closing the terminal of a foreground host", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create({ scheduler: { shutdown_grace: 20 } });
    await project.writeTask("slow.ts", SLOW);
    await writeFile(path.join(project.root, "package.json"), JSON.stringify({ name: "p", private: true, scripts: { start: `${SHELL_BIN} start` } }));
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it.each([
    ["a terminal closing under `npm start`", "npm start"],
    // The stop a closed terminal began is not taken for a second one ("stop now") by a SIGTERM
    // well after the hang-up (npm's, say, or a service manager's).
    ["a terminal closing, then a SIGTERM a second later", `${SHELL_BIN} start`],
    // Through Node's way in (an older unit file): the shell supervisor runs as its child.
    ["SIGHUP then SIGTERM to the supervisor", `node ${BIN} start`],
  ])("%s: the run in flight finishes, the host stops, nothing is left behind", async (_name, command) => {
    // `script` gives the host a real terminal; killing it hangs that terminal up.
    const terminal = spawn("script", ["-qfec", command, "/dev/null"], { cwd: project.root, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    let output = "";
    terminal.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
    const files = hostFiles(path.join(project.root, "data"));
    try {
      const supervisor = await waitFor(async () => (await callHost<{ pid: number }>(files.socket, "ping", {}, 2000)).pid, { timeoutMs: 30_000, what: `the host\n${output}` });
      let ran = "";
      const run = project.cli(["run", "slow"]).then((r) => ((ran = `${r.code} ${r.stdout} ${r.stderr}`), r));
      // The terminal shows the run's first line: it is in flight.
      await waitFor(() => output.includes("[slow] begun"), { what: `the run to start\n${output}\nrun: ${ran}`, timeoutMs: 30_000 });
      const signalledAt = Date.now();
      if (command.startsWith("npm")) {
        terminal.kill("SIGKILL"); // the terminal window goes away
      } else if (command.startsWith(SHELL_BIN)) {
        terminal.kill("SIGKILL");
        await waitFor(() => Date.now() > signalledAt + 1000, { what: "a second to pass" });
        process.kill(supervisor, "SIGTERM");
      } else {
        process.kill(supervisor, "SIGHUP");
        await new Promise((resolve) => setTimeout(resolve, 5));
        process.kill(supervisor, "SIGTERM");
      }
      const result = await run;
      expect(result.code, `${result.stdout}${result.stderr}\n${output}`).toBe(0);
      expect(result.stdout).toContain("done after its grace");
      await waitFor(() => !existsSync(files.pidFile) && !existsSync(files.socket), { timeoutMs: 30_000, what: "the PID file and socket to go" });
      // The host's farewell says it stopped, not that it restarted (the SIGHUP's restart became a stop).
      const farewells = await hostEvents(project, "host.stop");
      expect(farewells.map((f) => f.restart)).toEqual([false]);
      // Told by its supervisor, which outlived the terminal: not a host left on its own.
      expect(farewells.map((f) => f.reason)).toEqual([command.startsWith("node") ? "received SIGHUP, then received SIGTERM" : "received SIGTERM"]);
      const runs = await history(project, "slow");
      expect(runs.map((r) => r.status)).toEqual(["success"]);
      // It ended after the hang-up: the host gave it its grace (it was not over already).
      expect(Date.parse(runs[0]!.finishedAt!)).toBeGreaterThan(signalledAt);
    } finally {
      for (const pid of descendants(terminal.pid!)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
      terminal.kill("SIGKILL");
    }
  });
});

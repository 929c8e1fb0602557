import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BIN, SHELL_BIN, TempProject, descendants } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";
import { callHost } from "../runtime/cli/control-client.ts";
import { hostFiles } from "../runtime/host/host-files.ts";
import { isProcessAlive } from "../runtime/util/is-process-alive.ts";
import { START_FAILURE_FILE, type StartFailure } from "../runtime/supervisor/start-failure.ts";

// The supervisor of `taskhost start` is a shell (runtime/supervisor/supervise.sh): what it
// decides (restart, back off, give up, stop) is seen here through real processes.

function killTree(pid: number): void {
  for (const each of [pid, ...descendants(pid)]) {
    try {
      process.kill(each, "SIGKILL");
    } catch {
      // gone
    }
  }
}

describe("the supervisor of `taskhost start`", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create();
    await project.writeTask("tick.ts", taskSource({ schedule: "every(1).hours", body: "" }));
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("starts a host that keeps crashing again after 1, 2, 4 and 8 s, then gives up, says why and leaves no lock", async () => {
    // Every host dies at once, after a last word on stderr; the supervisor's own Node call (the lock) does not.
    const crash = path.join(project.root, "crash.cjs");
    await writeFile(crash, 'if (process.argv.includes("__host")) { process.stderr.write("boom: \\"quoted\\"\\tand tabbed, C:\\\\back\\n"); process.exit(3); }\n');
    const child = spawn(SHELL_BIN, ["start"], { cwd: project.root, env: { ...process.env, NO_COLOR: "1", TASKHOST_NODE: process.execPath, NODE_OPTIONS: `--require ${crash}` } });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
    const t0 = Date.now();
    try {
      const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
      const tookMs = Date.now() - t0;
      expect(code, output).toBe(1);
      const delays = [...output.matchAll(/the host exited with code 3 after 0 s; starting it again in (\d+) s \(restart (\d)\)/g)].map((m) => [Number(m[1]), Number(m[2])]);
      expect(delays, output).toEqual([[1, 1], [2, 2], [4, 3], [8, 4]]);
      expect(output).toContain("the host exited with code 3; it crashed 5 times in a row within seconds of starting, so the supervisor gives up");
      // The host's stderr reaches the console too.
      expect(output.match(/boom/g)).toHaveLength(5);
      expect(tookMs).toBeGreaterThanOrEqual(15_000);
      // `taskhost restart` and `start --daemon` read why, with what the host last wrote.
      const failure = JSON.parse(await readFile(path.join(project.root, "data", START_FAILURE_FILE), "utf8")) as StartFailure;
      expect(failure).toMatchObject({ gaveUp: true, message: 'the host exited with code 3 after 0 s; the last it wrote on stderr:\nboom: "quoted"\tand tabbed, C:\\back' });
      expect(failure.at).toBeGreaterThanOrEqual(t0);
      const files = hostFiles(path.join(project.root, "data"));
      expect(existsSync(files.pidFile)).toBe(false);
      expect(existsSync(path.join(project.root, "data", "project.lock"))).toBe(false);
      expect(existsSync(path.join(project.root, "data", "host-stderr.fifo"))).toBe(false);
    } finally {
      killTree(child.pid!);
    }
  }, 60_000);

  it("a supervisor killed with SIGKILL: its host stops on its own within seconds, and the next start takes over the stale lock", async () => {
    const host = await project.start();
    const hostPid = await host.hostPid();
    process.kill(host.pid, "SIGKILL");
    await waitFor(() => !isProcessAlive(hostPid), { timeoutMs: 10_000, what: "the orphaned host to stop" });
    const log = await readFile(path.join(project.root, "logs", "scheduler.log"), "utf8");
    expect(log).toMatch(/"event":"host.stopping".*"reason":"the supervisor went away"/);
    const next = await project.start();
    expect((await status(project)).host).toMatchObject({ running: true, pid: next.pid });
    expect(await next.stop()).toBe(0);
  });

  it("a second stop signal to a host that cannot act on it (its process frozen) kills it after 2 s; the supervisor exits 130", async () => {
    const host = await project.start();
    const hostPid = await host.hostPid();
    // As a main thread blocked in a long synchronous call: it takes no signal.
    process.kill(hostPid, "SIGSTOP");
    process.kill(host.pid, "SIGTERM");
    // Apart by more than an echo (npm's copy of a Ctrl-C comes within milliseconds).
    await new Promise((resolve) => setTimeout(resolve, 500));
    const t0 = Date.now();
    process.kill(host.pid, "SIGTERM");
    expect(await host.exited, host.output()).toBe(130);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
    expect(isProcessAlive(hostPid)).toBe(false);
    expect(host.output()).toContain("the host did not stop within 2 s of the second signal: killed it");
  });

  it("through Node's way in (`node taskhost.js start`), the shell supervises, and a SIGTERM to Node stops it all", async () => {
    const child = spawn(process.execPath, [BIN, "start"], { cwd: project.root, env: { ...process.env, NO_COLOR: "1" } });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      const files = hostFiles(path.join(project.root, "data"));
      const { pid, hostPid } = await waitFor(() => callHost<{ pid: number; hostPid: number }>(files.socket, "ping", {}, 2000), { timeoutMs: 30_000, what: `the host\n${output}` });
      // The lock's holder is the shell, Node's child; the host is the shell's.
      expect(pid).not.toBe(child.pid);
      expect(await readFile(`/proc/${pid}/cmdline`, "utf8")).toContain(path.join("runtime", "bin", "taskhost"));
      expect(descendants(child.pid!)).toEqual(expect.arrayContaining([pid, hostPid]));
      child.kill("SIGTERM");
      expect(await exited, output).toBe(0);
      expect(isProcessAlive(pid) || isProcessAlive(hostPid)).toBe(false);
      expect(existsSync(files.pidFile)).toBe(false);
    } finally {
      killTree(child.pid!);
    }
  });

  it("through Node's way in, a Node killed with SIGKILL leaves no host behind: it stops, and its supervisor releases the lock", async () => {
    const child = spawn(process.execPath, [BIN, "start"], { cwd: project.root, env: { ...process.env, NO_COLOR: "1" } });
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    const files = hostFiles(path.join(project.root, "data"));
    let shell = 0;
    try {
      const { pid, hostPid } = await waitFor(() => callHost<{ pid: number; hostPid: number }>(files.socket, "ping", {}, 2000), { timeoutMs: 30_000, what: "the host" });
      shell = pid;
      child.kill("SIGKILL");
      await exited;
      await waitFor(() => !isProcessAlive(hostPid) && !isProcessAlive(pid), { timeoutMs: 10_000, what: "the host and its supervisor to end" });
      expect(existsSync(files.pidFile)).toBe(false);
      const log = await readFile(path.join(project.root, "logs", "scheduler.log"), "utf8");
      expect(log).toMatch(/"event":"host.stopping".*"reason":"the supervisor went away"/);
    } finally {
      killTree(child.pid!);
      if (shell) killTree(shell);
    }
  });
});

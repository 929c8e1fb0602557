import { readdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { executeCommand, executeScript, processExecutionResults } from "../helpers/index.ts";
import { useTempRoot } from "./fixtures/helpers/project-env.ts";
import { setCurrentRun } from "../runtime/api/current-run.ts";
import type { TaskLogger } from "../runtime/api/task-context.ts";
import { waitFor } from "./support/wait-for.ts";

/** Live processes whose process group is `pgid` (from /proc), or whose command line contains `marker`. */
function survivors(pgid: number, marker: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z") continue; // a zombie is already dead
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      if (Number(fields[2]) === pgid || cmdline.includes(marker)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // Exited while we looked.
    }
  }
  return found;
}

describe("executeCommand / executeScript", () => {
  let env: Awaited<ReturnType<typeof useTempRoot>>;
  beforeEach(async () => {
    env = await useTempRoot();
  });
  afterEach(async () => {
    await env.dispose();
  });

  it("waits a timeout past 2^31 ms instead of timing out at once, and never throws for an aborted signal or a missing folder (issue 10.11)", async () => {
    const long = await executeCommand("sleep", { args: ["0.3"], timeout: 1e300 });
    expect(long).toMatchObject({ success: true, timedOut: false });
    expect(long.durationMs).toBeGreaterThanOrEqual(250);
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    await expect(executeCommand("true", { signal: controller.signal })).resolves.toMatchObject({ success: false, aborted: true, pid: null });
    await expect(executeCommand("true", { cwd: "no/such/folder" })).resolves.toMatchObject({ success: false, error: expect.stringContaining("does not exist") });
  });

  it("passes arguments without a shell and captures both streams", async () => {
    const result = await executeCommand("printf", { args: ["%s|%s\\n", "a b", "$HOME;echo x"] });
    expect(result).toMatchObject({ success: true, exitCode: 0, stdout: "a b|$HOME;echo x\n", stderr: "", attempts: 1, error: null });
    const shell = await executeCommand("echo one && echo two >&2; exit 3", { shell: true, expectedExitCodes: [3] });
    expect(shell).toMatchObject({ success: true, exitCode: 3, stdout: "one\n", stderr: "two\n" });
    const wrong = await executeCommand("false");
    expect(wrong).toMatchObject({ success: false, exitCode: 1, error: "exit code 1" });
    const missing = await executeCommand("no-such-command-th");
    expect(missing).toMatchObject({ success: false, exitCode: null, error: "command not found: no-such-command-th" });
    const cwd = await executeCommand("pwd", { cwd: "." });
    expect(cwd.stdout.trim()).toBe(env.root);
  });

  it("kills the whole process group on timeout: no orphan survives", async () => {
    const marker = `${30 + Math.random()}`.slice(0, 8);
    const started = Date.now();
    const result = await executeCommand("bash", { args: ["-c", `sleep ${marker} & sleep ${marker}; echo never`], timeout: 0.5 });
    expect(result.timedOut).toBe(true);
    expect(result.success).toBe(false);
    expect(result.error).toMatch(/timed out after 0.5s/);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(result.pid).toBeGreaterThan(0);
    expect(survivors(result.pid!, `sleep ${marker}`)).toEqual([]);
  });

  it("escalates to SIGKILL for a group that ignores SIGTERM", async () => {
    const marker = `${40 + Math.random()}`.slice(0, 8);
    const result = await executeCommand("bash", {
      args: ["-c", `trap '' TERM; (trap '' TERM; sleep ${marker}) & sleep ${marker}`],
      timeout: 0.3,
      killGraceMs: 300,
    });
    expect(result.timedOut).toBe(true);
    expect(survivors(result.pid!, `sleep ${marker}`)).toEqual([]);
  });

  it("stops the group when the signal aborts", async () => {
    const marker = `${50 + Math.random()}`.slice(0, 8);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("run timed out")), 300);
    const result = await executeCommand("bash", { args: ["-c", `sleep ${marker} & wait`], signal: controller.signal, retries: 3 });
    expect(result).toMatchObject({ aborted: true, success: false, attempts: 1, error: "stopped because the run was aborted" });
    expect(survivors(result.pid!, `sleep ${marker}`)).toEqual([]);
  });

  it("with logOutput, logs each line to the run's log as it comes, before the command ends", async () => {
    // The run's logger is what a real run hands the helpers; here it records the lines.
    const logged: string[] = [];
    const record = (level: string) => (message: string) => void logged.push(`${level} ${message}`);
    const log = { debug: record("debug"), info: record("info"), warn: record("warn"), error: record("error") } as unknown as TaskLogger;
    setCurrentRun({ task: { id: "t", title: "t" }, scheduleId: "t#run", log, signal: new AbortController().signal, projectRoot: env.root });
    try {
      const release = path.join(env.root, "release");
      const running = executeCommand(`printf 'one\\nhalf'; echo warned >&2; while [ ! -e ${release} ]; do sleep 0.05; done; echo ' line'`, {
        shell: true,
        logOutput: true,
      });
      // Whole lines at once; the partial "half" once the command has been quiet for a second.
      await waitFor(() => logged.length >= 3, { what: "the lines to be logged while the command runs" });
      expect([...logged].sort()).toEqual(["info half", "info one", "warn warned"]);
      await writeFile(release, "");
      const result = await running;
      expect(logged.at(-1)).toBe("info  line");
      expect(logged).toHaveLength(4);
      expect(result).toMatchObject({ success: true, stdout: "one\nhalf line\n", stderr: "warned\n" });
      // Without the option, nothing is logged.
      await executeCommand("echo", { args: ["quiet"] });
      expect(logged).toHaveLength(4);
      // At most maxOutputBytes of each stream is logged: two lines of 100 bytes, then a note.
      logged.length = 0;
      const big = await executeCommand("for i in 1 2 3 4 5 6 7 8 9 10; do printf '%099d\\n' $i; done", { shell: true, logOutput: true, maxOutputBytes: 250 });
      expect(big).toMatchObject({ success: true, truncated: true });
      expect(logged).toHaveLength(3);
      expect(logged[2]).toMatch(/^info … more output not logged \(over maxOutputBytes, 250 bytes/);
    } finally {
      setCurrentRun(undefined as never);
    }
  });

  it("caps captured output, keeping its head and tail", async () => {
    const result = await executeCommand(process.execPath, {
      args: ["-e", 'process.stdout.write("HEAD" + "x".repeat(200000) + "TAIL")'],
      maxOutputBytes: 1000,
    });
    expect(result.truncated).toBe(true);
    expect(result.stdout.startsWith("HEAD")).toBe(true);
    expect(result.stdout.endsWith("TAIL")).toBe(true);
    expect(result.stdout).toMatch(/…\[199008 bytes omitted\]…/);
  });

  it("retries failed attempts", async () => {
    const counter = path.join(env.root, "count");
    await writeFile(counter, "0");
    const script = `n=$(( $(cat ${counter}) + 1 )); echo $n > ${counter}; [ $n -ge 3 ]`;
    const result = await executeCommand("bash", { args: ["-c", script], retries: 3, retryDelay: 0.05 });
    expect(result).toMatchObject({ success: true, attempts: 3 });
    await writeFile(counter, "-10");
    const gaveUp = await executeCommand("bash", { args: ["-c", script], retries: 1, retryDelay: 0.05 });
    expect(gaveUp).toMatchObject({ success: false, attempts: 2 });
  });

  it("runs scripts by extension: .sh, .py, .js, .ts", async () => {
    await writeFile(path.join(env.root, "s.sh"), 'echo "sh $1"');
    await writeFile(path.join(env.root, "s.py"), 'import sys\nprint("py", sys.argv[1])');
    await writeFile(path.join(env.root, "s.mjs"), 'console.log("js", process.argv[2])');
    await writeFile(path.join(env.root, "s.ts"), 'const n: number = 2;\nconsole.log("ts", process.argv[2], n);');
    const results = await Promise.all(["s.sh", "s.py", "s.mjs", "s.ts"].map((f) => executeScript(f, { args: ["arg"], timeout: 30 })));
    expect(results.map((r) => r.stdout.trim())).toEqual(["sh arg", "py arg", "js arg", "ts arg 2"]);
    expect(results[0]!.command).toBe("s.sh arg");
    const missing = await executeScript("nope.sh");
    expect(missing).toMatchObject({ success: false, error: `script not found: ${path.join(env.root, "nope.sh")}` });

    const summary = processExecutionResults([...results, missing]);
    expect(summary).toMatchObject({ total: 5, succeeded: 4, failed: 1, timedOut: 0, allSucceeded: false });
    expect(summary.failures).toEqual([{ command: "nope.sh", exitCode: null, error: missing.error }]);
    expect(summary.text).toMatch(/^5 commands: 4 succeeded, 1 failed in \d+ ms$/);
  });
});

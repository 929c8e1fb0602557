/**
 * Starts `taskhost start` in a TempProject without TempProject.start's 30 s
 * limit: a cold start with 1,000 task files bundles every one of them first.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { callHost } from "../../runtime/cli/control-client.ts";
import { hostFiles } from "../../runtime/host/host-files.ts";
import { SHELL_BIN, type TempProject } from "../../tests/support/temp-project.ts";
import { processTree, sleep } from "./measure.ts";

export interface SlowHost {
  pid: number;
  /** SIGTERM, then wait for the exit; SIGKILL after `timeoutMs` (then false). */
  stop(timeoutMs?: number): Promise<boolean>;
}

export async function startSlowHost(project: TempProject, timeoutMs: number): Promise<SlowHost> {
  const env = { ...process.env, NO_COLOR: "1", TASKHOST_NODE: process.execPath };
  const child = spawn(SHELL_BIN, ["start"], { cwd: project.root, env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const host: SlowHost = {
    pid: child.pid!,
    stop: async (timeoutMs = 60_000) => {
      if (child.exitCode != null || child.signalCode != null) return true;
      child.kill("SIGTERM");
      const clean = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref())]);
      if (!clean) {
        // The supervisor's host child is ours too: leave nothing behind.
        for (const pid of await processTree(child.pid!)) process.kill(pid, "SIGKILL");
        await exited;
      }
      return clean;
    },
  };
  const socket = hostFiles(path.join(project.root, "data")).socket;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode != null) throw new Error(`host exited (${child.exitCode}) while starting:\n${stderr}`);
    const pid = await callHost<{ pid: number }>(socket, "ping", {}, 2000).then((r) => r.pid, () => null);
    if (pid === child.pid) return host;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`host did not answer within ${timeoutMs} ms:\n${stderr}`);
    }
    await sleep(50);
  }
}

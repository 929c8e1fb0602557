/**
 * Issue 10.12: `taskhost start | head -2`: the console's reader goes away after two
 * lines, and every later line meets EPIPE. The host must run on (no crash, no
 * restart) on its log files, round after round.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { callHost } from "../../runtime/cli/control-client.ts";
import { hostFiles } from "../../runtime/host/host-files.ts";
import { finished, history, status } from "../../tests/support/history.ts";
import { taskSource } from "../../tests/support/task-sources.ts";
import { SHELL_BIN } from "../../tests/support/temp-project.ts";
import { waitFor } from "../../tests/support/wait-for.ts";
import { inProject, killQuietly, pidFile, processTable, running, type Scenario } from "./adversarial-support.ts";

export const consolePipe: Scenario = {
  item: "12",
  attack: "taskhost start | head -2",
  run: (quick) =>
    inProject({}, async (project) => {
      const rounds = quick ? 1 : 3;
      await project.writeTask("tick.ts", taskSource({ schedule: "every().second", body: 'ctx.log.info("tick"); ctx.log.warn("a warning too");' }));
      const socket = hostFiles(path.join(project.root, "data")).socket;
      let survived = 0;
      const notes: string[] = [];
      for (let round = 1; round <= rounds; round++) {
        const pipeline = spawn("sh", ["-c", `"${SHELL_BIN}" start | head -2 >/dev/null`], { cwd: project.root, env: { ...process.env, NO_COLOR: "1", TASKHOST_NODE: process.execPath } });
        const { hostPid } = await waitFor(() => callHost<{ hostPid: number }>(socket, "ping", {}, 2000), { timeoutMs: 60_000, what: "the host to answer" });
        const supervisor = pidFile(project);
        try {
          // head has had its two lines and is gone: the console's reader left.
          await waitFor(() => !processTable().some((p) => p.ppid === pipeline.pid && p.cmdline.startsWith("head")), { timeoutMs: 30_000, what: "head to exit" });
          const closedAt = Date.now();
          await waitFor(async () => finished(await history(project, "tick")).filter((r) => Date.parse(r.startedAt!) > closedAt + 500).length >= 3, {
            timeoutMs: 60_000,
            what: "three runs after the console closed",
          }).catch(() => undefined);
          const report = await status(project);
          const same = await callHost<{ hostPid: number }>(socket, "ping", {}, 2000).then((p) => p.hostPid === hostPid, () => false);
          if (report.host.running && report.host.restarts === 0 && same) survived++;
          else notes.push(`round ${round}: restarts ${report.host.restarts}, same host ${same}`);
        } finally {
          killQuietly(supervisor, "SIGTERM");
          await waitFor(() => !running(supervisor), { timeoutMs: 60_000, what: "the host to stop" }).catch(() => killQuietly(supervisor));
          pipeline.kill("SIGKILL");
        }
      }
      return [
        {
          item: "12",
          attack: "`taskhost start | head -2`: EPIPE on every console line after the second",
          refused: { ok: survived, of: rounds },
          held: survived === rounds,
          measured: survived === rounds ? "the host ran on its log files: no crash, no restart, runs went on" : notes.join("; "),
        },
      ];
    }),
};

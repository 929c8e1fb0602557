/**
 * Issue 10.2: runs that end through their worker's `error` event (a throw from a
 * timer) before their `started` message is handled must leave no timer behind, or
 * a stopped host lives on for up to their timeout and no host runs. `restart`
 * while 15 such tasks run every second; the old host process must be gone within
 * its grace (plus a margin), not after the runs' timeout.
 */
import path from "node:path";
import { callHost } from "../../runtime/cli/control-client.ts";
import { hostFiles } from "../../runtime/host/host-files.ts";
import { finished, history } from "../../tests/support/history.ts";
import { taskSource } from "../../tests/support/task-sources.ts";
import { waitFor } from "../../tests/support/wait-for.ts";
import { inProject, running, type Scenario } from "./adversarial-support.ts";

const TASKS = 15;
const TIMEOUT_SEC = 20;
const GRACE_SEC = 1;
/** Past this, the old host lingered: it is the grace plus a wide margin for a loaded machine, and well short of the timeout. */
const LINGER_MS = (GRACE_SEC + 9) * 1000;

export const stopLinger: Scenario = {
  item: "2",
  attack: "restart while runs die through their worker's error event",
  run: (quick) =>
    inProject({ scheduler: { shutdown_grace: GRACE_SEC } }, async (project) => {
      const rounds = quick ? 1 : 4;
      for (let i = 0; i < TASKS; i++) {
        await project.writeTask(
          `thrower-${i}.ts`,
          taskSource({
            schedule: "every(1).seconds",
            body: "setTimeout(() => { throw new Error('thrown from a timer'); }, 0); await new Promise(() => {});",
            frontmatter: { timeout: TIMEOUT_SEC, overlap: "allow" },
          }),
        );
      }
      await project.start();
      const socket = hostFiles(path.join(project.root, "data")).socket;
      const stopMs: number[] = [];
      for (let round = 1; round <= rounds; round++) {
        const seen = finished(await history(project, "thrower-0")).length;
        await waitFor(async () => finished(await history(project, "thrower-0")).length >= seen + 2, { timeoutMs: 60_000, what: `failed runs in round ${round}` });
        const { hostPid } = await callHost<{ hostPid: number }>(socket, "ping", {}, 5000);
        const t0 = Date.now();
        await callHost(socket, "restart", { graceSec: GRACE_SEC }, 10_000);
        // Up to past the runs' timeout: a lingering host ends then.
        await waitFor(() => !running(hostPid), { timeoutMs: (TIMEOUT_SEC + 30) * 1000, what: "the old host to exit" }).catch(() => undefined);
        stopMs.push(Date.now() - t0);
        await waitFor(async () => (await callHost<{ hostPid: number }>(socket, "ping", {}, 2000)).hostPid !== hostPid, { timeoutMs: 60_000, what: "the new host" });
      }
      const lingered = stopMs.filter((ms) => ms > LINGER_MS);
      return [
        {
          item: "2",
          attack: `\`restart\` while ${TASKS} tasks throw from a timer every second`,
          refused: { ok: rounds - lingered.length, of: rounds },
          held: lingered.length === 0,
          measured: `old host gone after ${stopMs.map((ms) => (ms / 1000).toFixed(1)).join(", ")} s (grace ${GRACE_SEC} s, runs' timeout ${TIMEOUT_SEC} s; over ${LINGER_MS / 1000} s counts as lingering)`,
        },
      ];
    }),
};

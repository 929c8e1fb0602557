/**
 * Issue 10.4: what a run starts ends, and is reaped, when the run ends. Runs
 * leave fire-and-forget children, one that ignores SIGTERM, a background
 * grandchild, and many children of a run that times out; afterwards none may
 * still run and none may be a zombie of the host.
 */
import { finished, history } from "../../tests/support/history.ts";
import { waitFor } from "../../tests/support/wait-for.ts";
import { inProject, processTable, type Scenario } from "./adversarial-support.ts";

/** A task run by hand; `marker` is the `sleep` argument its children carry. */
const childTask = (body: string, timeoutSec: number) => `/*
---
timeout: ${timeoutSec}
---
*/
import { repeat, every, type TaskContext } from "taskhost";
import { spawn, exec } from "node:child_process";
export default class {
  @repeat(every(10).minutes)
  async start(ctx: TaskContext) {
    ${body}
  }
}
`;

export const runChildren: Scenario = {
  item: "4",
  attack: "children a run leaves behind",
  run: (quick) =>
    inProject({}, async (project) => {
      const many = quick ? 50 : 200;
      await project.writeTask(
        "forget.ts",
        childTask(
          `for (let i = 0; i < 5; i++) spawn("sleep", ["911.5"]);
    spawn("sh", ["-c", "trap '' TERM; exec sleep 911.5"]);
    exec("sleep 911.5 &");
    await new Promise((r) => setTimeout(r, 300));`,
          30,
        ),
      );
      await project.writeTask("many.ts", childTask(`for (let i = 0; i < ${many}; i++) spawn("sleep", ["912.5"]);\n    await new Promise(() => {});`, 2));
      const host = await project.start();
      const hostPid = await host.hostPid();
      const spawned = { forget: 7, many };
      const statuses: string[] = [];
      for (const id of ["forget", "many"] as const) {
        await project.cli(["run", id], 120_000);
        const run = await waitFor(async () => finished(await history(project, id)).find((r) => r.trigger === "manual"), { timeoutMs: 60_000, what: `the run of ${id}` });
        statuses.push(`${id}: ${run.status}`);
      }
      // Their ends are the runs' ends, give or take the kill grace (SIGTERM, SIGKILL after 1 s).
      const alive = () => processTable().filter((p) => p.state !== "Z" && /sleep 91[12]\.5/.test(p.cmdline)).length;
      await waitFor(() => alive() === 0, { timeoutMs: 15_000, what: "no child left" }).catch(() => undefined);
      const left = alive();
      const zombies = processTable().filter((p) => p.ppid === hostPid && p.state === "Z").length;
      await host.stop();
      const total = spawned.forget + spawned.many;
      return [
        {
          item: "4",
          attack: `children left by runs: 5 fire-and-forget, 1 ignoring SIGTERM, 1 backgrounded grandchild, ${many} of a run that times out`,
          refused: { ok: Math.max(0, total - left - zombies), of: total },
          held: left === 0 && zombies === 0,
          measured: `${left} still running and ${zombies} zombies of the host after the runs ended (${statuses.join(", ")})`,
        },
      ];
    }),
};

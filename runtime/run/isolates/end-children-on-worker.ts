/**
 * The processes a run on a warm worker started end with it, ended and reaped
 * by the worker's own loop (only it can reap them), before the worker serves
 * another run or is terminated (issue 10.4). A worker that cannot answer (a
 * synchronous loop, or gone) has the run's groups killed by the host instead.
 */
import { ANSWER_MS, CHILD_GRACE_MS, killGroupsAndWait } from "../end-run-children.ts";
import type { LogLevel } from "../../logging/log-level.ts";
import type { IsolateTenant, IsolateWorker } from "./isolate-worker.ts";

/** Resolves once the groups are ended: true if the worker answered (it reaped them), false if the host killed them. */
export function endChildrenOnWorker(worker: IsolateWorker, groups: Set<number>, output: (level: LogLevel, line: string) => void): Promise<boolean> {
  return new Promise((resolve) => {
    let decided = false;
    const after = async (replied: boolean) => {
      if (decided) return;
      decided = true;
      clearTimeout(giveUp);
      worker.detach(waiter);
      if (!replied) await killGroupsAndWait(groups);
      resolve(replied);
    };
    const waiter: IsolateTenant = {
      message: (m) => {
        // Started just before the flag was set: ended with the others (once this waiter is gone, the worker kills such late ones).
        if (m.type === "child.started") groups.add(m.pgid);
        if (m.type === "children.ended") void after(true);
      },
      output,
      died: () => void after(false),
    };
    const giveUp = setTimeout(() => void after(false), ANSWER_MS + groups.size);
    if (worker.dead) return void after(false);
    worker.attach(waiter);
    worker.send({ type: "children.end", graceMs: CHILD_GRACE_MS });
  });
}

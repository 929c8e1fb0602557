/**
 * Issue 10.3: `overlap: skip` with every run slot taken. A 2.5 s task due every
 * second, three busy tasks and `max_concurrent_runs: 2`: a run waiting for a slot
 * is the previous run, so no run of the task may overlap the one before, and its
 * state (read at start, written at the end) may not lose an increment.
 */
import path from "node:path";
import { openSqlJsStore } from "../../runtime/store/sqljs-store.ts";
import { countAgainstLedger, makeMarkersDir, markerTask, readMarkers } from "../../tests/support/execution-markers.ts";
import { finished, history } from "../../tests/support/history.ts";
import { waitFor } from "../../tests/support/wait-for.ts";
import { sleep } from "./measure.ts";
import { inProject, ledgerAfterKill, type Scenario } from "./adversarial-support.ts";

export const overlapSkip: Scenario = {
  item: "3",
  attack: "overlap: skip with the run slots full",
  run: (quick) =>
    inProject({ scheduler: { max_concurrent_runs: 2, shutdown_grace: 5 } }, async (project) => {
      const windowMs = quick ? 15_000 : 40_000;
      await makeMarkersDir(project.root);
      // Busy tasks of random lengths, so run slots free up at any moment.
      for (const name of ["busy-a", "busy-b", "busy-c"]) {
        await project.writeTask(`${name}.ts`, markerTask("every(1).seconds", "await new Promise((r) => setTimeout(r, 200 + Math.random() * 1500));"));
      }
      await project.writeTask(
        "counter.ts",
        markerTask(
          "every(1).seconds",
          'const n = ctx.state.get<number>("n") ?? 0; await new Promise((r) => setTimeout(r, 2500)); ctx.state.set("n", n + 1);',
          "/*\n---\noverlap: skip\n---\n*/\n",
        ),
      );
      const host = await project.start();
      await waitFor(async () => finished(await history(project, "counter")).length > 0, { timeoutMs: 30_000, what: "a run of the counter" });
      await sleep(windowMs);
      await host.stop();
      const done = finished(await history(project, "counter", 1000))
        .filter((r) => r.startedAt != null && r.finishedAt != null)
        .sort((a, b) => Date.parse(a.startedAt!) - Date.parse(b.startedAt!));
      let overlapped = 0;
      for (let i = 1; i < done.length; i++) if (Date.parse(done[i]!.startedAt!) < Date.parse(done[i - 1]!.finishedAt!)) overlapped++;
      const successes = done.filter((r) => r.status === "success").length;
      const ledger = await ledgerAfterKill(project);
      const store = await openSqlJsStore({ path: path.join(project.root, "data", "scheduler.db") });
      const n = Number((await store.getState("counter")).n ?? 0);
      await store.close();
      const { unrecorded, doubled } = countAgainstLedger(await readMarkers(project.root), ledger.runs);
      const lost = successes - n;
      return [
        {
          item: "3",
          attack: "`overlap: skip`, a 2.5 s task every second, 3 busy tasks, 2 run slots",
          doubled: doubled.length,
          unrecorded: unrecorded.length,
          refused: { ok: done.length - overlapped, of: done.length },
          held: overlapped === 0 && lost === 0 && doubled.length === 0 && unrecorded.length === 0,
          measured: `${windowMs / 1000} s: ${overlapped} of ${done.length} runs overlapped the previous one; state n = ${n} after ${successes} successful runs (${lost} increments lost)`,
        },
      ];
    }),
};

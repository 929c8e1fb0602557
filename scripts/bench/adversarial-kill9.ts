/**
 * kill -9 of the supervisor and its host together, at random moments of activity:
 * the ledger must open after each, and every execution the tasks' code made is
 * recorded once (what issue 10 found held: 40/40 ledgers, 0 doubled, 0 unrecorded).
 */
import { countAgainstLedger, makeMarkersDir, markerTask, readMarkers } from "../../tests/support/execution-markers.ts";
import { waitFor } from "../../tests/support/wait-for.ts";
import { inProject, ledgerAfterKill, type Scenario } from "./adversarial-support.ts";
import { sleep } from "./measure.ts";

export const kill9Tree: Scenario = {
  item: "kept",
  attack: "kill -9 of host and supervisor during activity",
  run: (quick) =>
    inProject({ scheduler: { shutdown_grace: 1 } }, async (project) => {
      const rounds = quick ? 3 : 12;
      await makeMarkersDir(project.root);
      await project.writeTask("tick.ts", markerTask("every(1).seconds", 'ctx.state.set("n", (ctx.state.get<number>("n") ?? 0) + 1);'));
      await project.writeTask("slow.ts", markerTask("every(1).seconds", "await new Promise((r) => setTimeout(r, 700));", "/*\n---\noverlap: allow\n---\n*/\n"));
      await project.writeTask("all.ts", markerTask("every(1).seconds", "", "/*\n---\ncatch_up: all\n---\n*/\n"));
      let survived = 0;
      const problems: string[] = [];
      for (let round = 1; round <= rounds; round++) {
        const host = await project.start();
        const seen = (await readMarkers(project.root)).length;
        await waitFor(async () => (await readMarkers(project.root)).length >= seen + 3, { timeoutMs: 30_000, what: `activity in round ${round}` });
        await sleep(Math.random() * 1000);
        await host.kill9();
        const ledger = await ledgerAfterKill(project);
        const { unrecorded, doubled } = countAgainstLedger(await readMarkers(project.root), ledger.runs);
        if (ledger.warnings.length === 0 && unrecorded.length === 0 && doubled.length === 0) survived++;
        else problems.push(`round ${round}: ${[...ledger.warnings, ...unrecorded.map((k) => `unrecorded ${k}`), ...doubled.map((k) => `doubled ${k}`)].join("; ")}`);
      }
      // A last start recovers what the kills cut off and goes on.
      const host = await project.start();
      const seen = (await readMarkers(project.root)).length;
      await waitFor(async () => (await readMarkers(project.root)).length >= seen + 3, { timeoutMs: 30_000, what: "runs after the last kill" });
      await host.stop();
      const ledger = await ledgerAfterKill(project);
      const markers = await readMarkers(project.root);
      const { unrecorded, doubled } = countAgainstLedger(markers, ledger.runs);
      const left = ledger.runs.filter((r) => r.status === "running").length;
      return [
        {
          item: "kept",
          attack: "kill -9 of host and supervisor at random moments of activity",
          kills: { ok: survived, of: rounds },
          doubled: doubled.length,
          unrecorded: unrecorded.length,
          held: survived === rounds && doubled.length === 0 && unrecorded.length === 0 && left === 0,
          measured: `${markers.length} executions by 3 marker tasks over ${rounds} kills; ${ledger.runs.length} runs in the ledger, ${left} left "running"${problems.length ? `; ${problems.slice(0, 3).join(" / ")}` : ""}`,
        },
      ];
    }),
};

/**
 * Issue 10.14: holes in history under overload. The host process is paused
 * (SIGSTOP, 1.2–2.5 s, its supervisor left running) again and again, so its own
 * timers fire more than a second late. Afterwards every occurrence between a
 * schedule's first and last run must be accounted for: run, recorded skipped with
 * its reason, or covered by the catch-up run that stood for it.
 */
import { countAgainstLedger, makeMarkersDir, markerTask, readMarkers } from "../../tests/support/execution-markers.ts";
import type { RunRow } from "../../runtime/store/ledger.ts";
import { waitFor } from "../../tests/support/wait-for.ts";
import { inProject, ledgerAfterKill, type Scenario } from "./adversarial-support.ts";
import { sleep } from "./measure.ts";

const POLICIES = ["once", "skip", "all"] as const;

/** Occurrences (every second) between the first and last recorded with no row and no catch-up covering them. */
function holes(runs: RunRow[]): number {
  const accounted = new Set<number>();
  for (const run of runs) {
    if (run.scheduledFor != null) accounted.add(run.scheduledFor);
    if (run.coversFrom != null && run.coversCount != null) for (let k = 0; k < run.coversCount; k++) accounted.add(run.coversFrom + k * 1000);
  }
  const times = [...accounted].sort((a, b) => a - b);
  let missing = 0;
  for (let t = times[0]!; t <= times.at(-1)!; t += 1000) if (!accounted.has(t)) missing++;
  return missing;
}

export const overloadHoles: Scenario = {
  item: "14",
  attack: "the host's timers firing late",
  run: (quick) =>
    inProject({}, async (project) => {
      const pauses = quick ? 4 : 10;
      await makeMarkersDir(project.root);
      for (const policy of POLICIES) {
        await project.writeTask(`late-${policy}.ts`, markerTask("every(1).seconds", "", `/*\n---\ncatch_up: ${policy}\n---\n*/\n`));
      }
      const host = await project.start();
      const hostPid = await host.hostPid();
      await waitFor(async () => (await readMarkers(project.root)).length >= 6, { timeoutMs: 30_000, what: "runs before the pauses" });
      for (let i = 0; i < pauses; i++) {
        process.kill(hostPid, "SIGSTOP");
        await sleep(1200 + Math.random() * 1300);
        process.kill(hostPid, "SIGCONT");
        await sleep(2500);
      }
      await sleep(2000);
      await host.stop();
      const ledger = await ledgerAfterKill(project);
      const perPolicy = POLICIES.map((policy) => [policy, holes(ledger.runs.filter((r) => r.taskId === `late-${policy}`))] as const);
      const total = perPolicy.reduce((sum, [, n]) => sum + n, 0);
      const occurrences = new Set(ledger.runs.map((r) => `${r.scheduleId}@${r.scheduledFor}`)).size + total;
      const { unrecorded, doubled } = countAgainstLedger(await readMarkers(project.root), ledger.runs);
      return [
        {
          item: "14",
          attack: `${pauses} pauses of the host process (SIGSTOP 1.2–2.5 s), catch_up once/skip/all every second`,
          doubled: doubled.length,
          unrecorded: unrecorded.length,
          refused: { ok: occurrences - total, of: occurrences },
          held: total === 0 && doubled.length === 0 && unrecorded.length === 0,
          measured: `occurrences unaccounted for in history (no row, not covered by a catch-up): ${perPolicy.map(([p, n]) => `${p} ${n}`).join(", ")} of ${occurrences}`,
        },
      ];
    }),
};

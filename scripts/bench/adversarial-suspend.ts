/**
 * Issue 10.8: the machine sleeps (SIGSTOP of supervisor and host across several
 * boundaries, SIGCONT after), once just before a boundary (its occurrence armed)
 * and once just after one (its occurrence admitted). What the freeze swallowed is
 * judged per catch_up policy; a run that starts more than a second late is a
 * catch-up, never `schedule`.
 */
import { countAgainstLedger, makeMarkersDir, markerTask, readMarkers } from "../../tests/support/execution-markers.ts";
import { history } from "../../tests/support/history.ts";
import { descendants } from "../../tests/support/temp-project.ts";
import { waitFor } from "../../tests/support/wait-for.ts";
import type { RunJson } from "../../runtime/host/report-shapes.ts";
import { inProject, ledgerAfterKill, type Scenario } from "./adversarial-support.ts";
import { sleep } from "./measure.ts";

const POLICIES = ["once", "skip", "all"] as const;
const LATE_MS = 1000;

/** What is wrong with how `policy` handled the freeze from `stoppedAt` to `resumedAt`, or null. */
function misjudged(policy: (typeof POLICIES)[number], runs: RunJson[], stoppedAt: number, resumedAt: number): string | null {
  const at = (r: RunJson) => Date.parse(r.scheduledFor!);
  // Occurrences the freeze made late: due before the wake-up by more than the late threshold, from the one in flight at the freeze on.
  const late = runs.filter((r) => at(r) > stoppedAt - LATE_MS && at(r) < resumedAt - LATE_MS);
  const ranLate = late.filter((r) => r.startedAt != null && Date.parse(r.startedAt) > resumedAt);
  const asSchedule = ranLate.filter((r) => r.trigger === "schedule" && Date.parse(r.startedAt!) - at(r) > LATE_MS + 500);
  if (asSchedule.length) return `${asSchedule.length} run ${((Date.parse(asSchedule[0]!.startedAt!) - at(asSchedule[0]!)) / 1000).toFixed(1)} s late as "schedule"`;
  const swallowed = late.filter((r) => at(r) > stoppedAt);
  if (policy === "skip" && ranLate.length) return `${ranLate.length} ran late instead of being recorded skipped`;
  if (policy === "once" && ranLate.length > 1) return `${ranLate.length} ran late where one catch-up stands for them`;
  if (policy === "all") {
    const notRun = swallowed.filter((r) => r.status === "skipped");
    if (notRun.length) return `${notRun.length} recorded skipped (${notRun[0]!.error}) instead of run`;
    for (let t = Math.ceil((stoppedAt + 1) / 1000) * 1000; t < resumedAt - LATE_MS; t += 1000) {
      if (!runs.some((r) => at(r) === t)) return `the occurrence at ${new Date(t).toISOString()} has no run`;
    }
  }
  return null;
}

export const suspend: Scenario = {
  item: "8",
  attack: "SIGSTOP across boundaries",
  run: (quick) =>
    inProject({}, async (project) => {
      const freezeMs = quick ? 3500 : 5500;
      // Past the second: just before a boundary (armed), just after one (admitted).
      const moments = quick ? [750, 30] : [750, 30, 850, 60];
      await makeMarkersDir(project.root);
      for (const policy of POLICIES) {
        await project.writeTask(`catch-${policy}.ts`, markerTask("every(1).seconds", "", `/*\n---\ncatch_up: ${policy}\n---\n*/\n`));
      }
      const host = await project.start();
      const freezes: Array<{ stoppedAt: number; resumedAt: number; moment: number }> = [];
      for (const moment of moments) {
        await waitFor(async () => (await Promise.all(POLICIES.map(async (p) => (await history(project, `catch-${p}`)).filter((r) => r.status === "success").length >= 2))).every(Boolean), {
          timeoutMs: 30_000,
          what: "runs before the freeze",
        });
        await waitFor(() => Math.abs((Date.now() % 1000) - moment) < 15, { intervalMs: 2, timeoutMs: 5000, what: "the moment to freeze" });
        const frozen = [host.pid, ...descendants(host.pid)];
        for (const pid of frozen) process.kill(pid, "SIGSTOP");
        const stoppedAt = Date.now();
        await sleep(freezeMs);
        for (const pid of frozen.reverse()) process.kill(pid, "SIGCONT");
        const resumedAt = Date.now();
        freezes.push({ stoppedAt, resumedAt, moment });
        for (const policy of POLICIES) {
          await waitFor(async () => (await history(project, `catch-${policy}`)).some((r) => r.trigger === "schedule" && Date.parse(r.scheduledFor!) > resumedAt + 1500 && r.status === "success"), {
            timeoutMs: 30_000,
            what: `catch-${policy} back on the grid`,
          });
        }
      }
      await host.stop();
      const wrong: string[] = [];
      for (const policy of POLICIES) {
        const runs = await history(project, `catch-${policy}`, 1000);
        for (const { stoppedAt, resumedAt, moment } of freezes) {
          const why = misjudged(policy, runs, stoppedAt, resumedAt);
          if (why) wrong.push(`${policy} frozen at +${moment} ms: ${why}`);
        }
      }
      const ledger = await ledgerAfterKill(project);
      const markers = await readMarkers(project.root);
      const { unrecorded, doubled } = countAgainstLedger(markers, ledger.runs);
      const judged = freezes.length * POLICIES.length;
      return [
        {
          item: "8",
          attack: `${freezes.length} freezes of ${freezeMs / 1000} s (SIGSTOP) just before and just after a boundary, catch_up once/skip/all`,
          doubled: doubled.length,
          unrecorded: unrecorded.length,
          refused: { ok: judged - wrong.length, of: judged },
          held: wrong.length === 0 && doubled.length === 0 && unrecorded.length === 0,
          measured: wrong.length ? wrong.slice(0, 4).join("; ") : "every swallowed occurrence handled per its catch_up; no run late as \"schedule\"",
        },
      ];
    }),
};

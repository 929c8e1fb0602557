/**
 * Issue 10.1: kill -9 of the supervisor alone, while its host has runs in flight,
 * then a new `start --daemon` (what the README tells operators to do). The orphaned
 * host stops gracefully and keeps the ledger until it is gone; the new one must wait
 * for it, and every execution the tasks' code made is recorded once.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { callHost } from "../../runtime/cli/control-client.ts";
import { hostFiles } from "../../runtime/host/host-files.ts";
import { countAgainstLedger, makeMarkersDir, markerTask, readMarkers } from "../../tests/support/execution-markers.ts";
import { descendants } from "../../tests/support/temp-project.ts";
import { waitFor } from "../../tests/support/wait-for.ts";
import { inProject, killQuietly, ledgerAfterKill, pidFile, running, type Scenario } from "./adversarial-support.ts";

export const supervisorKill: Scenario = {
  item: "1",
  attack: "kill -9 of the supervisor alone, then a new start",
  run: (quick) =>
    inProject({ scheduler: { shutdown_grace: 20 } }, async (project) => {
      const rounds = quick ? 1 : 3;
      await makeMarkersDir(project.root);
      await project.writeTask("tick.ts", markerTask("every(1).seconds", ""));
      // Runs that outlast the kill (they ignore ctx.signal): the orphaned host records their ends during its grace.
      await project.writeTask("slow.ts", markerTask("every(1).seconds", "await new Promise((r) => setTimeout(r, 6000));", "/*\n---\noverlap: allow\n---\n*/\n"));
      const socket = hostFiles(path.join(project.root, "data")).socket;
      const markersOf = async (id: string) => (await readMarkers(project.root)).filter((m) => m.scheduleId === id).length;
      let supervisor = (await project.start()).pid;
      let survived = 0;
      const problems: string[] = [];
      try {
        for (let round = 1; round <= rounds; round++) {
          const slowBefore = await markersOf("slow#start");
          await waitFor(async () => (await markersOf("slow#start")) >= slowBefore + 3, { timeoutMs: 60_000, what: "slow runs in flight" });
          const { hostPid } = await callHost<{ hostPid: number }>(socket, "ping", {}, 5000);
          killQuietly(supervisor);
          await waitFor(() => !running(supervisor), { what: "the supervisor to die" });
          const orphanAlive = running(hostPid);
          const started = await project.cli(["start", "--daemon"], 180_000);
          const reported = Number(/pid (\d+)/.exec(started.stdout)?.[1]);
          supervisor = pidFile(project);
          await waitFor(() => !running(hostPid), { timeoutMs: 60_000, what: "the orphaned host to finish stopping" });
          const before = (await readMarkers(project.root)).length;
          await waitFor(async () => (await readMarkers(project.root)).length >= before + 3, { timeoutMs: 60_000, what: "runs of the new host" });
          if (started.code === 0 && reported === supervisor && orphanAlive) survived++;
          else problems.push(`round ${round}: start --daemon exited ${started.code} reporting pid ${reported} (pid file ${supervisor}); orphan alive at start: ${orphanAlive}`);
        }
        killQuietly(supervisor, "SIGTERM");
        await waitFor(() => !running(supervisor), { timeoutMs: 60_000, what: "the last host to stop" });
      } finally {
        for (const pid of [...descendants(supervisor), supervisor]) killQuietly(pid);
      }
      const ledger = await ledgerAfterKill(project);
      const log = await readFile(path.join(project.root, "logs", "scheduler.log"), "utf8").catch(() => "");
      const cutShort = ledger.warnings.filter((w) => /up to entry|damaged|not replayed|backup/.test(w)).length + (log.match(/journal up to entry/g)?.length ?? 0);
      const markers = await readMarkers(project.root);
      const { unrecorded, doubled } = countAgainstLedger(markers, ledger.runs);
      return [
        {
          item: "1",
          attack: "kill -9 of the supervisor alone with runs in flight, then `start --daemon`",
          kills: { ok: cutShort === 0 ? survived : 0, of: rounds },
          doubled: doubled.length,
          unrecorded: unrecorded.length,
          held: survived === rounds && cutShort === 0 && doubled.length === 0 && unrecorded.length === 0,
          measured: `${markers.length} executions (6 s runs ignoring ctx.signal, shutdown_grace 20 s), ${cutShort} journal warnings${problems.length ? `; ${problems.join(" / ")}` : ""}`,
        },
      ];
    }),
};

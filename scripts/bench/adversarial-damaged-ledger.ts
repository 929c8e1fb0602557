/**
 * Issue 10.13: a damaged scheduler.db in a ledger's first hour (no hourly backup
 * yet). The host must start from the last good copy kept since the first
 * snapshot, saying so; with the copy damaged too, it must refuse, naming the
 * file, and leave it as it was. The tasks' own markers count the executions
 * whose records went with the damaged file: those recorded after the backup was
 * taken (the README says they are lost), which is what "unrecorded" shows here.
 */
import { existsSync } from "node:fs";
import { readFile, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { countAgainstLedger, makeMarkersDir, markerTask, readMarkers } from "../../tests/support/execution-markers.ts";
import { hostEvents, spawnStart } from "../../tests/support/fault-host.ts";
import type { TempProject } from "../../tests/support/temp-project.ts";
import { waitFor } from "../../tests/support/wait-for.ts";
import { inProject, ledgerAfterKill, type Scenario } from "./adversarial-support.ts";

/** Runs the host until the tasks executed `n` more times, then stops it (gracefully, or with kill -9). */
async function runFor(project: TempProject, n: number, kill: boolean): Promise<void> {
  const host = await project.start();
  const before = (await readMarkers(project.root)).length;
  await waitFor(async () => (await readMarkers(project.root)).length >= before + n, { timeoutMs: 60_000, what: `${n} executions` });
  if (kill) await host.kill9();
  else await host.stop();
}

export const damagedLedger: Scenario = {
  item: "13",
  attack: "a damaged scheduler.db in a new ledger's first hour",
  run: () =>
    inProject({}, async (project) => {
      const db = path.join(project.root, "data", "scheduler.db");
      await makeMarkersDir(project.root);
      await project.writeTask("tick.ts", markerTask("every(1).seconds", ""));
      const outcomes: Array<[string, boolean, string]> = [];
      let lostSoFar = 0;
      const damages: Array<[string, () => Promise<void>, boolean]> = [
        ["garbage after kill -9 in the first minute", () => writeFile(db, Buffer.from("this is not sqlite\n".repeat(300))), true],
        ["cut in half after a stop", async () => truncate(db, Math.floor((await readFile(db)).length / 2)), false],
        ["emptied after a stop", () => truncate(db, 0), false],
      ];
      for (const [what, damage, kill] of damages) {
        await runFor(project, 3, kill);
        await ledgerAfterKill(project); // the killed host's lock gone
        const hadBackup = existsSync(`${db}.bak`);
        await damage();
        const warned = (await hostEvents(project, "store.warning")).length;
        const host = await project.start().catch((error: unknown) => error as Error);
        if (host instanceof Error) {
          outcomes.push([what, false, `start refused (${hadBackup ? "a .bak was there" : "no .bak"}): ${host.message.split("\n").find((l) => l.includes("scheduler.db")) ?? ""}`]);
          continue;
        }
        const saidSo = await waitFor(async () => (await hostEvents(project, "store.warning")).length > warned, { timeoutMs: 10_000, what: "the warning" }).then(() => true, () => false);
        await host.stop();
        // The executions whose records went with the damaged file (recorded after the backup was taken).
        const { unrecorded } = countAgainstLedger(await readMarkers(project.root), (await ledgerAfterKill(project)).runs);
        const lost = unrecorded.length - lostSoFar;
        lostSoFar = unrecorded.length;
        outcomes.push([what, saidSo, `${saidSo ? "started from the backup, saying so" : "started without a word"}${lost ? `, ${lost} executions' records lost with the file (recorded after the backup, which opening the ledger takes before replaying its journal)` : ""}`]);
      }
      const ledger = await ledgerAfterKill(project);
      const { unrecorded, doubled } = countAgainstLedger(await readMarkers(project.root), ledger.runs);
      // Both damaged: refused, naming the file, which stays as it was.
      await writeFile(`${db}.bak`, "more garbage");
      await writeFile(db, "garbage");
      const refused = spawnStart(project);
      const code = await Promise.race([refused.exited, new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 30_000))]);
      await refused.kill9();
      const untouched = (await readFile(db, "utf8")) === "garbage";
      outcomes.push(["the file and its backup both damaged", code !== 0 && code !== "hung" && refused.output().includes(db) && untouched, `start exited ${code}, file ${untouched ? "untouched" : "CHANGED"}`]);
      const ok = outcomes.filter(([, held]) => held).length;
      return [
        {
          item: "13",
          attack: `scheduler.db damaged: ${outcomes.map(([what]) => what).join("; ")}`,
          doubled: doubled.length,
          unrecorded: unrecorded.length,
          refused: { ok, of: outcomes.length },
          held: ok === outcomes.length && doubled.length === 0,
          measured: outcomes.map(([what, , how]) => `${what}: ${how}`).join("; "),
        },
      ];
    }),
};

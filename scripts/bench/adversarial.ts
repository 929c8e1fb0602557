/**
 * The adversarial suite (`npm run bench -- --faults`, or `--faults=kill9,overlap`):
 * each scenario attacks a real host and returns its rows for the one table of
 * kills survived, executions doubled, executions unrecorded and attacks refused.
 * A scenario that breaks gets a row saying so; the others still run.
 */
import { readFile } from "node:fs/promises";
import type { Scenario } from "./adversarial-support.ts";
import { badValues } from "./adversarial-bad-values.ts";
import { consolePipe } from "./adversarial-console-pipe.ts";
import { controlSocket } from "./adversarial-control-socket.ts";
import { damagedLedger } from "./adversarial-damaged-ledger.ts";
import { dashboardAttacks } from "./adversarial-dashboard-attacks.ts";
import { dashboardBodies } from "./adversarial-dashboard-bodies.ts";
import { faultTasks } from "./adversarial-fault-tasks.ts";
import { fileModes } from "./adversarial-file-modes.ts";
import { flood } from "./adversarial-flood.ts";
import { kill9Tree } from "./adversarial-kill9.ts";
import { memoryHogs } from "./adversarial-memory.ts";
import { overlapSkip } from "./adversarial-overlap.ts";
import { overloadHoles } from "./adversarial-overload-holes.ts";
import { quietRefusals } from "./adversarial-quiet-refusals.ts";
import { runChildren } from "./adversarial-run-children.ts";
import { secrets } from "./adversarial-secrets.ts";
import { stopLinger } from "./adversarial-stop-linger.ts";
import { supervisorKill } from "./adversarial-supervisor-kill.ts";
import { suspend } from "./adversarial-suspend.ts";
import type { Results } from "./results.ts";

/** In the order of issue 10's items, then what held already. */
export const SCENARIOS: Record<string, Scenario> = {
  "supervisor-kill": supervisorKill,
  "stop-linger": stopLinger,
  overlap: overlapSkip,
  children: runChildren,
  memory: memoryHogs,
  bodies: dashboardBodies,
  socket: controlSocket,
  suspend,
  secrets,
  modes: fileModes,
  values: badValues,
  pipe: consolePipe,
  damaged: damagedLedger,
  holes: overloadHoles,
  refusals: quietRefusals,
  kill9: kill9Tree,
  "fault-tasks": faultTasks,
  dashboard: dashboardAttacks,
  flood,
};

const load = async () => (await readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" ");

export async function adversarialSuite(results: Results, quick: boolean, names: string[] | null): Promise<void> {
  const unknown = (names ?? []).filter((n) => !(n in SCENARIOS));
  if (unknown.length) throw new Error(`--faults: no scenario ${unknown.join(", ")}; there are ${Object.keys(SCENARIOS).join(", ")}`);
  const began = Date.now();
  const loadBefore = await load();
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    if (names && !names.includes(name)) continue;
    process.stderr.write(`faults: ${name}\n`);
    const t0 = Date.now();
    try {
      for (const row of await scenario.run(quick)) results.fault(row);
    } catch (error) {
      results.fault({ item: scenario.item, attack: scenario.attack, held: false, measured: `the scenario broke: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}` });
    }
    process.stderr.write(`faults: ${name} took ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  }
  results.note(
    `adversarial suite (${quick ? "quick" : "full"}): ${((Date.now() - began) / 1000).toFixed(0)} s, load average ${loadBefore} before and ${await load()} after (2 cores shared)`,
  );
}

/**
 * Real taskhost hosts of one fleet, for the fleet tests and the bench: each in
 * its own project folder with the same task files, all with database.url on
 * one PostgreSQL database, started with `taskhost start` (a supervisor and its
 * host process, so they can be kill -9'ed and SIGSTOPped).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { PgLedger } from "../../runtime/store/pg-ledger.ts";
import { descendants, TempProject, type HostProcess } from "./temp-project.ts";
import { waitFor } from "./wait-for.ts";

export interface FleetMember {
  /** The project folder's name: what the marker task writes as the host. */
  name: string;
  project: TempProject;
  host: HostProcess | null;
  /** The host's id in the ledger (stable across its restarts). */
  id: string;
}

/**
 * An every-`period` task that appends one line per execution of its code to
 * `<markers>/<project folder>.jsonl` ({s: schedule, t: occurrence, trigger, at}),
 * then works for `runMs`: what ran where, independent of the ledger.
 */
export function markerTask(markers: string, options: { schedule?: string; runMs?: number } = {}): string {
  return `import { appendFileSync } from "node:fs";
import path from "node:path";
import { repeat, every, type TaskContext } from "taskhost";

export default class {
  @repeat(${options.schedule ?? "every(1).seconds"})
  async tick(ctx: TaskContext) {
    const host = path.basename(process.env.TASKHOST_PROJECT_ROOT ?? "?");
    const line = JSON.stringify({ s: ctx.scheduleId, t: ctx.scheduledFor.getTime(), trigger: ctx.trigger, at: Date.now() });
    appendFileSync(path.join(${JSON.stringify(markers)}, host + ".jsonl"), line + "\\n");
    await new Promise((resolve) => setTimeout(resolve, ${options.runMs ?? 300}));
  }
}
`;
}

export interface Marker {
  host: string;
  s: string;
  t: number;
  trigger: string;
  at: number;
}

/** Every marker every host wrote. */
export function readMarkers(markers: string, names: readonly string[]): Marker[] {
  const out: Marker[] = [];
  for (const host of names) {
    let text = "";
    try {
      text = readFileSync(path.join(markers, `${host}.jsonl`), "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").filter(Boolean)) out.push({ host, ...(JSON.parse(line) as Omit<Marker, "host">) });
  }
  return out;
}

/** A project folder of the fleet: the task files, database.url and the lease. */
export async function fleetProject(url: string, leaseSec: number, tasks: Record<string, string>, config: Record<string, unknown> = {}): Promise<TempProject> {
  const project = await TempProject.create({ scheduler: { shutdown_grace: 5 }, ...config, database: { url, lease: leaseSec } });
  for (const [file, source] of Object.entries(tasks)) await project.writeTask(file, source);
  return project;
}

/** `taskhost start` in the member's folder; resolves once it answers and is registered in the ledger. */
export async function startMember(member: Omit<FleetMember, "host" | "id"> & Partial<FleetMember>, ledger: PgLedger): Promise<FleetMember> {
  const host = await member.project.start();
  const row = await waitFor(async () => (await ledger.listHosts()).find((h) => h.pid === host.pid), { timeoutMs: 30_000, what: `${member.name} in the ledger's hosts` });
  return { ...member, host, id: row.id };
}

/** The PIDs of a member's supervisor and host (its workers are threads of the host). */
export function memberPids(member: FleetMember): number[] {
  return [member.host!.pid, ...descendants(member.host!.pid)];
}

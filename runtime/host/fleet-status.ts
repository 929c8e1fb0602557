/**
 * What `status` adds for a fleet (contract §10): every live host, its clock skew
 * when over a second, and per task the hosts that run another version of it.
 * Pure shaping of what the ledger says; `fleetStatus` reads it in three queries.
 */
import type { FleetDisagreement, FleetLedger } from "../store/fleet-ledger.ts";
import type { HostRow } from "../store/ledger.ts";

export interface HostStatusJson {
  id: string;
  hostname: string;
  pid: number;
  startedAt: string;
  lastHeartbeat: string;
  running: number;
  /** The database's clock minus this host's (ms), only when more than a second off. */
  skewMs?: number;
}

export interface FleetStatus {
  hosts: HostStatusJson[];
  /** Task id → a sentence saying which hosts disagree on its version (only tasks where some do). */
  versionWarnings: Map<string, string>;
}

export const SKEW_REPORT_MS = 1000;

export function hostsJson(hosts: readonly HostRow[], skews: ReadonlyMap<string, number>): HostStatusJson[] {
  return hosts.map((h) => {
    const skew = skews.get(h.id) ?? 0;
    return {
      id: h.id,
      hostname: h.hostname,
      pid: h.pid,
      startedAt: new Date(h.startedAt).toISOString(),
      lastHeartbeat: new Date(h.lastHeartbeat).toISOString(),
      running: h.running,
      ...(Math.abs(skew) > SKEW_REPORT_MS ? { skewMs: skew } : {}),
    };
  });
}

/** One sentence per task, e.g. "hosts disagree on its version: a runs it (the ledger's version), b has another one and does not". */
export function versionWarnings(disagreements: readonly FleetDisagreement[]): Map<string, string> {
  const byTask = new Map<string, { current: Set<string>; other: Set<string> }>();
  for (const d of disagreements) {
    const entry = byTask.get(d.taskId) ?? { current: new Set<string>(), other: new Set<string>() };
    for (const h of d.hosts) (h.fingerprint === d.ledger ? entry.current : entry.other).add(h.hostId);
    byTask.set(d.taskId, entry);
  }
  const out = new Map<string, string>();
  for (const [taskId, { current, other }] of byTask) {
    for (const id of other) current.delete(id);
    const list = (s: Set<string>) => [...s].sort().join(", ");
    out.set(
      taskId,
      `hosts disagree on this task's version: ${other.size ? `${list(other)} loaded another one and do${other.size === 1 ? "es" : ""} not run it` : ""}` +
        `${current.size ? `; ${list(current)} run${current.size === 1 ? "s" : ""} the ledger's version` : "; no live host has the ledger's version"}. ` +
        `Deploy the same task file to every host.`,
    );
  }
  return out;
}

export async function fleetStatus(ledger: FleetLedger): Promise<FleetStatus> {
  const [hosts, skews, disagreements] = await Promise.all([ledger.listHosts(), ledger.hostSkews(), ledger.disagreements()]);
  return { hosts: hostsJson(hosts, skews), versionWarnings: versionWarnings(disagreements) };
}

import type { AlertRow } from "../store/ledger.ts";

/** An alert as `taskhost alerts --json` and GET /api/alerts show it: times as ISO-8601 UTC. */
export function alertJson(row: AlertRow): Omit<AlertRow, "at" | "scheduledFor"> & { at: string; scheduledFor: string | null } {
  return { ...row, at: new Date(row.at).toISOString(), scheduledFor: row.scheduledFor == null ? null : new Date(row.scheduledFor).toISOString() };
}

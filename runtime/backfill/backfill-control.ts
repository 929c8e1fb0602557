import type { ControlHandler } from "../host/control-server.ts";
import { taskhostError } from "../errors.ts";
import type { BackfillRequest } from "./backfill-job.ts";
import type { Backfills } from "./backfills.ts";

/** A backfill request as it arrives (control socket, HTTP), checked. */
export function backfillRequest(params: Record<string, unknown>): BackfillRequest {
  const text = (name: string) => {
    const value = params[name];
    if (typeof value !== "string" || value.trim() === "") throw taskhostError("ERR_BAD_REQUEST", `backfill: give ${name === "target" ? "the task (<task>[#method])" : `--${name}`}`, { field: name });
    return value;
  };
  const max = params.max;
  if (max !== undefined && max !== null && (typeof max !== "number" || !Number.isInteger(max))) {
    throw taskhostError("ERR_BAD_REQUEST", "backfill: --max must be a whole number", { field: "max" });
  }
  const dryRun = params.dryRun ?? false;
  if (typeof dryRun !== "boolean") throw taskhostError("ERR_BAD_REQUEST", `backfill: dryRun must be true or false, got ${JSON.stringify(dryRun)}`, { field: "dryRun" });
  return { target: text("target"), from: text("from"), to: text("to"), max: (max as number | null | undefined) ?? undefined, dryRun };
}

/** The `backfill-*` requests of the control socket (what `taskhost backfill` sends). */
export function backfillHandlers(backfills: Backfills): Record<string, ControlHandler> {
  const id = (params: Record<string, unknown>) => String(params.id ?? "");
  return {
    "backfill-start": async (params) => backfills.start(backfillRequest(params)),
    "backfill-status": async (params) => backfills.get(id(params)),
    "backfill-cancel": async (params) => backfills.cancel(id(params)),
    "backfill-list": async () => backfills.list(),
  };
}

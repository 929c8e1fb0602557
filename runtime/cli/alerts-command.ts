import { callHost, ERR_NO_HOST } from "./control-client.ts";
import type { CliContext } from "./cli-context.ts";
import type { AlertRow } from "../store/ledger.ts";
import { ledgerTask, withLedger } from "./offline-ledger.ts";
import { isCode } from "../errors.ts";
import { alertJson } from "../alerts/alert-json.ts";
import { localTime, machineZone } from "./format-text.ts";

/**
 * `taskhost alerts [--json] [-n N] [--task ID]`: the alerts raised, newest
 * first (contract §11), from the running host, or read directly with none.
 */
export async function alertsCommand(ctx: CliContext, options: { json: boolean; limit: number; task?: string }): Promise<number> {
  let rows: AlertRow[];
  try {
    rows = await callHost<AlertRow[]>(ctx.files.socket, "alerts", { limit: options.limit, task: options.task });
  } catch (error) {
    if ((error as { code?: string }).code !== ERR_NO_HOST) throw error;
    try {
      rows = await withLedger(ctx, false, async (ledger) => {
        if (options.task !== undefined) await ledgerTask(ledger, options.task);
        return ledger.listAlerts({ limit: options.limit, taskId: options.task });
      });
    } catch (offline) {
      if (!isCode(offline, "ERR_NO_LEDGER")) throw offline;
      // No ledger yet: no task either.
      if (options.task !== undefined) throw new Error(`taskhost: no task "${options.task}" in the ledger (no host has run here yet)`);
      rows = [];
    }
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify(rows.map(alertJson), null, 2)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    process.stdout.write(`no alerts${options.task ? ` for ${options.task}` : ""} yet\n`);
    return 0;
  }
  process.stdout.write(`times in ${machineZone()}\n`);
  for (const a of rows) {
    const to = a.channels.length ? a.channels.join(", ") : "no channel";
    process.stdout.write(`${localTime(new Date(a.at).toISOString())}  ${a.event.padEnd(9)}  ${a.taskId}  → ${to}\n    ${a.text}\n`);
  }
  return 0;
}

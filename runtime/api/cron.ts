/** `cron("m h dom mon dow")` (5 fields, or 6 with seconds first), checked by croner now. */
import { compileCron } from "../schedule/cron-pattern.ts";
import { Schedule } from "./schedule.ts";

export function cron(expr: string): Schedule {
  compileCron(expr); // throws ERR_SCHEDULE_INVALID quoting the expression
  const trimmed = expr.trim();
  return new Schedule({ kind: "cron", expr: trimmed }, `cron(${JSON.stringify(trimmed)})`, {
    refuse: "a cron expression carries its own times",
  });
}

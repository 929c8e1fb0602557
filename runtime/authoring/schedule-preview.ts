/**
 * The next occurrences of a schedule as the host will compute them (the same
 * `nextRun` maths), in the schedule's zone, for the new-task and edit forms'
 * live preview. The zone and window are read by the loader's own frontmatter
 * rules, so the preview refuses exactly what loading the file would.
 */
import { occurrencesBetween } from "../schedule/occurrences-between.ts";
import { taskhostError } from "../errors.ts";
import { checkTaskSource } from "./edit-task-source.ts";
import { editFrontmatter, type FieldValue } from "./edit-frontmatter.ts";
import { parseTaskFile } from "../task-file/parse-task-file.ts";
import { fieldError, scheduleOf } from "./task-draft.ts";

export interface PreviewRequest {
  /** Builder text, e.g. `cron("*\/5 * * * *")`; or `cron` / `every` as in the new-task form. */
  schedule?: unknown;
  cron?: unknown;
  every?: unknown;
  timezone?: string | null;
  start?: string | null;
  end?: string | null;
  count?: number;
  /** Occurrences after this instant (default: now). */
  from?: number;
}

export interface Preview {
  expression: string;
  /** Human text, e.g. "every 5 minutes". */
  text: string;
  zone: string;
  occurrences: Array<{ at: string; local: string }>;
}

const MAX_COUNT = 50;

/** "Tue 2026-12-01 09:00:00 +01:00" in `zone`. */
export function localText(ms: number, zone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone, weekday: "short", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "longOffset",
    }).formatToParts(ms).map((p) => [p.type, p.value]),
  );
  const offset = String(parts.timeZoneName).replace(/^GMT/, "") || "+00:00";
  return `${parts.weekday} ${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${offset}`;
}

export function previewSchedule(request: PreviewRequest, defaultZone: string): Preview {
  const parsed = scheduleOf(request);
  if (!parsed) throw fieldError("ERR_SCHEDULE_INVALID", "schedule", 'give a schedule such as every(5).minutes or cron("0 9 * * *")');
  const fields: Record<string, FieldValue> = { timezone: request.timezone || null, start_date: request.start || null, end_date: request.end || null };
  const probe = editFrontmatter("", "preview", fields);
  try {
    checkTaskSource(probe, "preview", defaultZone);
  } catch (error) {
    // The probe's line numbers mean nothing to the person filling in the form.
    if (error instanceof Error) error.message = error.message.replace(/^preview:\d+: /, "");
    throw error;
  }
  const { meta } = parseTaskFile(probe, "preview", { zone: defaultZone });
  const zone = meta.timezone ?? defaultZone;
  const count = Math.min(Math.max(1, Math.floor(request.count ?? 5)), MAX_COUNT);
  const window = { ...(meta.startDate != null ? { start: meta.startDate } : {}), ...(meta.endDate != null ? { end: meta.endDate } : {}) };
  const from = request.from ?? Date.now();
  if (!Number.isFinite(from)) throw taskhostError("ERR_BAD_REQUEST", "preview: from must be an instant");
  const list = occurrencesBetween(parsed.spec, from, Number.MAX_SAFE_INTEGER, zone, window, count);
  return {
    expression: parsed.expression,
    text: parsed.text,
    zone,
    occurrences: list.map((ms) => ({ at: new Date(ms).toISOString(), local: localText(ms, zone) })),
  };
}

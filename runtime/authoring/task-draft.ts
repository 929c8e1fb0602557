/**
 * A new task as the form (dashboard) or the flags (`taskhost new`) describe
 * it, checked field by field before any file is written. Each problem names
 * the form field it belongs to, so the page can show the reason beside it.
 */
import { taskhostError, type ErrorCode } from "../errors.ts";
import { cronExpression, everyPhraseExpression, parseScheduleExpression, type ParsedSchedule } from "./schedule-expression.ts";
import type { FieldValue } from "./edit-frontmatter.ts";
import { checkTaskId } from "./task-paths.ts";

/** What a form or the command line sends; every value unchecked. */
export interface TaskFormInput {
  id?: unknown;
  script?: unknown;
  args?: unknown;
  /** Builder text (`every(5).minutes`, `cron("0 9 * * *")`); or one of the two below. */
  schedule?: unknown;
  cron?: unknown;
  /** "5 minutes", "day at 09:00". */
  every?: unknown;
  title?: unknown;
  description?: unknown;
  timezone?: unknown;
  start?: unknown;
  end?: unknown;
  timeout?: unknown;
  retries?: unknown;
  retryDelay?: unknown;
  overlap?: unknown;
  catchUp?: unknown;
  enabled?: unknown;
}

/** TaskFormInput's keys, each once (the type makes a key added there and not here an error). */
const FORM_KEYS = new Set(
  Object.keys({
    id: 0, script: 0, args: 0, schedule: 0, cron: 0, every: 0, title: 0, description: 0, timezone: 0,
    start: 0, end: 0, timeout: 0, retries: 0, retryDelay: 0, overlap: 0, catchUp: 0, enabled: 0,
  } satisfies Record<keyof TaskFormInput, 0>),
);
/** The form's names of the frontmatter fields it names otherwise (an edit takes frontmatter names; errors name the form's). */
export const FORM_FIELD: Readonly<Record<string, string>> = { retry_count: "retries", retry_delay: "retryDelay", catch_up: "catchUp", start_date: "start", end_date: "end" };

/** A key the form does not have is refused, not dropped: a task written without what was asked is worse than none. */
function checkKeys(input: TaskFormInput): void {
  for (const key of Object.keys(input)) {
    if (FORM_KEYS.has(key)) continue;
    const hint = FORM_FIELD[key]
      ? `; the form calls it "${FORM_FIELD[key]}"`
      : key === "dependencies"
        ? "; a task's dependencies are written in its file (edit it by hand)"
        : `; the fields are ${[...FORM_KEYS].join(", ")}`;
    throw fieldError("ERR_BAD_REQUEST", key, `"${key}" is not a field of a new task${hint}`);
  }
}

export interface TaskDraft {
  id: string;
  /** Relative to the project root, `/` separators. */
  script: string;
  args: string[];
  /** null: no schedule (run by hand only). */
  schedule: ParsedSchedule | null;
  /** Frontmatter, in the README's order; null = left out (the default applies). */
  fields: Record<string, FieldValue>;
}

/** An error about one field of the form. */
export function fieldError(code: ErrorCode, field: string, message: string) {
  return taskhostError(code, message, { field });
}

const MAX_ARGS = 100;
const MAX_ARG_LENGTH = 4096;

function text(value: unknown, field: string, max = 500): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw fieldError("ERR_BAD_REQUEST", field, `${field} must be text`);
  const trimmed = value.trim();
  if (trimmed.length > max) throw fieldError("ERR_BAD_REQUEST", field, `${field} is longer than ${max} characters`);
  return trimmed === "" ? null : trimmed;
}

/** A number from JSON or from a text box; null when empty. The loader checks its range. */
function number(value: unknown, field: string): number | string | null {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value === "number") return value;
  if (typeof value === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  // Passed on as written: the frontmatter check refuses it with the loader's own words.
  if (typeof value === "string") return value.trim();
  throw fieldError("ERR_BAD_REQUEST", field, `${field} must be a number`);
}

/** The schedule of a form: builder text, a cron expression or an every phrase (one of them, or none). */
export function scheduleOf(input: Pick<TaskFormInput, "schedule" | "cron" | "every">): ParsedSchedule | null {
  const given = (["schedule", "cron", "every"] as const).filter((key) => input[key] !== undefined && input[key] !== null && input[key] !== "");
  if (given.length > 1) throw fieldError("ERR_BAD_FLAGS", "schedule", `give one schedule, not ${given.join(" and ")}`);
  const key = given[0];
  if (!key) return null;
  const value = input[key];
  if (typeof value !== "string") throw fieldError("ERR_SCHEDULE_INVALID", "schedule", "the schedule must be text");
  try {
    const expression = key === "cron" ? cronExpression(value) : key === "every" ? everyPhraseExpression(value) : value;
    return parseScheduleExpression(expression);
  } catch (error) {
    throw fieldError("ERR_SCHEDULE_INVALID", "schedule", error instanceof Error ? error.message : String(error));
  }
}

function argsOf(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((a) => typeof a !== "string")) throw fieldError("ERR_BAD_REQUEST", "args", "args must be a list of strings");
  if (value.length > MAX_ARGS) throw fieldError("ERR_BAD_REQUEST", "args", `at most ${MAX_ARGS} arguments`);
  for (const arg of value as string[]) {
    if (arg.length > MAX_ARG_LENGTH || arg.includes("\0")) throw fieldError("ERR_BAD_REQUEST", "args", `an argument is longer than ${MAX_ARG_LENGTH} characters or holds a NUL byte`);
  }
  return value as string[];
}

function enabledOf(value: unknown): boolean | null {
  if (value === undefined || value === null || value === true || value === "true") return null;
  if (value === false || value === "false") return false;
  throw fieldError("ERR_BAD_REQUEST", "enabled", "enabled must be true or false");
}

/** `reports/nightly-export` -> "Nightly export". */
function humanTitle(id: string): string {
  const words = (id.split("/").at(-1) ?? id).split(/[-_]+/).filter(Boolean).join(" ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * Checks what can be checked without the file system. The script's path and
 * the frontmatter as the loader reads it are checked by the caller
 * (`createTaskFile`), which has the project at hand.
 */
export function taskDraft(input: TaskFormInput): TaskDraft {
  checkKeys(input);
  const id = checkTaskId(input.id);
  if (/(^|\/)example_/.test(id)) {
    throw fieldError("ERR_BAD_REQUEST", "id", `task id "${id}": files named example_* load only with tasks.include_example_tasks; pick another name`);
  }
  const script = text(input.script, "script", 1000);
  if (!script) throw fieldError("ERR_BAD_REQUEST", "script", "pick the script the task runs");
  const schedule = scheduleOf(input);
  const fields: Record<string, FieldValue> = {
    title: text(input.title, "title") ?? humanTitle(id),
    // Not the schedule: an edit from the dashboard would leave it stale.
    description: text(input.description, "description", 2000) ?? `Runs ${script}, the scheduled time first.`,
    timeout: number(input.timeout, "timeout"),
    retry_count: number(input.retries, "retries"),
    retry_delay: number(input.retryDelay, "retryDelay"),
    catch_up: text(input.catchUp, "catchUp", 20),
    overlap: text(input.overlap, "overlap", 20),
    timezone: text(input.timezone, "timezone", 100),
    start_date: text(input.start, "start", 100),
    end_date: text(input.end, "end", 100),
    enabled: enabledOf(input.enabled),
  };
  return { id, script: script.split("\\").join("/"), args: argsOf(input.args), schedule, fields };
}

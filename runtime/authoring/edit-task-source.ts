/**
 * One edit of a task file from the dashboard: frontmatter fields changed in
 * place, schedule decorators given new arguments, and the builders the new
 * schedules call imported. Pure (text in, text out), and the result is
 * checked the way the loader reads it before anyone writes it.
 */
import { findFrontmatter, parseTaskFile, TaskFileError } from "../task-file/parse-task-file.ts";
import { TASK_META_FIELDS } from "../task-file/task-meta.ts";
import { taskhostError } from "../errors.ts";
import { editFrontmatter, type FieldValue } from "./edit-frontmatter.ts";
import { findScheduleDecorators, type ScheduleDecorator } from "./schedule-decorators.ts";
import { parseScheduleExpression, type ParsedSchedule } from "./schedule-expression.ts";
import { FORM_FIELD } from "./task-draft.ts";

export interface TaskEdit {
  /** Frontmatter fields (snake_case, as in the file); null removes one. */
  fields?: Readonly<Record<string, FieldValue>>;
  /** New schedule text by schedule key (`method`, `method:2`). */
  schedules?: Readonly<Record<string, string>>;
}

export interface ScheduleSite extends ScheduleDecorator {
  /** The decorator as builder text (`every(5).minutes`, `once("…")`). */
  expression: string;
}

/** Where the code starts: after a bare `---` block, or 0 (a comment block is skipped as a comment). */
function codeStart(source: string, file: string): number {
  const block = findFrontmatter(source, file);
  if (!block || source.trimStart().startsWith("/*")) return 0;
  const lines = source.split("\n");
  let offset = 0;
  for (let i = 0; i < lines.length; i++) {
    offset += lines[i]!.length + 1;
    if (i >= block.firstLine - 1 && lines[i]!.trim() === "---") return Math.min(offset, source.length);
  }
  return source.length;
}

/** The schedule decorators of a task file, each with its builder text. */
export function scheduleSites(source: string, file: string): ScheduleSite[] {
  return findScheduleDecorators(source, codeStart(source, file)).map((site) => ({
    ...site,
    expression: site.decorator === "once" ? `once(${site.argument.trim()})` : site.argument.trim(),
  }));
}

/** Adds the builder names `needed` to the file's `import { … } from "taskhost"` (or a new import). */
function ensureImports(source: string, file: string, needed: Set<string>): string {
  const named = /import\s*\{([^}]*)\}\s*from\s*(["'])taskhost\2/.exec(source);
  const have = new Set((named?.[1] ?? "").split(",").map((s) => s.trim().replace(/^type\s+/, "").split(/\s+as\s+/)[0]!));
  const missing = [...needed].filter((name) => !have.has(name));
  if (missing.length === 0) return source;
  if (named) {
    // New names go before the first `type` import, where a hand would put them.
    const items = named[1]!.split(",").map((s) => s.trim()).filter(Boolean);
    const firstType = items.findIndex((item) => item.startsWith("type "));
    items.splice(firstType < 0 ? items.length : firstType, 0, ...missing);
    const at = named.index + named[0].indexOf("{") + 1;
    return `${source.slice(0, at)} ${items.join(", ")} ${source.slice(at + named[1]!.length)}`;
  }
  const start = codeStart(source, file);
  return `${source.slice(0, start)}import { ${missing.join(", ")} } from "taskhost";\n${source.slice(start)}`;
}

/**
 * Fields an edit from outside the file may not change: npm packages and their
 * install scripts, or the Node a task needs, are code decisions for its author.
 */
const HAND_ONLY = ["dependencies", "allow_scripts", "node_version"];


/**
 * Validates `source` as the loader would (frontmatter and schedules); throws
 * an error with `field` naming the form field at fault.
 */
export function checkTaskSource(source: string, file: string, zone: string): void {
  try {
    parseTaskFile(source, file, { zone, nodeVersion: process.version });
  } catch (error) {
    if (!(error instanceof TaskFileError)) throw error;
    const field = error.field ? (FORM_FIELD[error.field] ?? error.field) : "source";
    throw taskhostError(error.code, error.message, { field, ...(error.problem ? { problem: error.problem } : {}) });
  }
  for (const site of scheduleSites(source, file)) {
    try {
      parseScheduleExpression(site.expression);
    } catch (error) {
      throw taskhostError("ERR_SCHEDULE_INVALID", `${file}: ${site.key}: ${error instanceof Error ? error.message : String(error)}`, { field: `schedule:${site.key}` });
    }
  }
}

/** `source` with `edit` applied and checked; throws (with `field`) instead of returning anything invalid. */
export function editTaskSource(source: string, file: string, edit: TaskEdit, zone: string): string {
  const fields = edit.fields ?? {};
  for (const key of Object.keys(fields)) {
    if (!(TASK_META_FIELDS as readonly string[]).includes(key)) {
      throw taskhostError("ERR_TASK_FRONTMATTER", `"${key}" is not a frontmatter field (${TASK_META_FIELDS.join(", ")})`, { field: key });
    }
    if (HAND_ONLY.includes(key)) {
      throw taskhostError("ERR_TASK_FRONTMATTER", `"${key}" is changed in the file itself, not from here (it decides what code and installs run)`, { field: key });
    }
  }
  let next = editFrontmatter(source, file, fields);
  const sites = scheduleSites(next, file);
  const needed = new Set<string>();
  const replacements: Array<{ site: ScheduleDecorator; parsed: ParsedSchedule }> = [];
  for (const [key, text] of Object.entries(edit.schedules ?? {})) {
    const site = sites.find((s) => s.key === key);
    if (!site) throw taskhostError("ERR_BAD_REQUEST", `${file} has no schedule "${key}" (it has: ${sites.map((s) => s.key).join(", ") || "none"})`, { field: `schedule:${key}` });
    let parsed: ParsedSchedule;
    try {
      parsed = parseScheduleExpression(text);
    } catch (error) {
      throw taskhostError("ERR_SCHEDULE_INVALID", error instanceof Error ? error.message : String(error), { field: `schedule:${key}` });
    }
    if (parsed.argument === site.argument.trim() && parsed.decorator === site.decorator) continue;
    replacements.push({ site, parsed });
    needed.add(parsed.decorator);
    for (const builder of ["every", "cron"]) if (parsed.expression.startsWith(`${builder}(`)) needed.add(builder);
  }
  // From the end backwards, so earlier offsets stay valid.
  for (const { site, parsed } of replacements.sort((a, b) => b.site.start - a.site.start)) {
    next = `${next.slice(0, site.start)}@${parsed.decorator}(${parsed.argument})${next.slice(site.end)}`;
  }
  next = ensureImports(next, file, needed);
  checkTaskSource(next, file, zone);
  return next;
}

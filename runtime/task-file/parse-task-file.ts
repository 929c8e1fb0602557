import npa from "npm-package-arg";
import { describeValue } from "../util/describe-value.ts";
import semver from "semver";
import { isSeq, type Node } from "yaml";
import {
  CATCH_UP_POLICIES,
  OVERLAP_POLICIES,
  ISOLATION_LEVELS,
  type IsolationLevel,
  TASK_META_BOUNDS,
  TASK_META_DEFAULTS,
  TASK_META_FIELDS,
  type CatchUpPolicy,
  type OverlapPolicy,
  type ResolvedTaskMeta,
  type TaskMetaInput,
} from "./task-meta.ts";
import { dependencySpecProblem } from "../deps/dependency-spec.ts";
import { onceInstant } from "../schedule/next-run.ts";
import { canonicalZone, resolveZone } from "../schedule/resolve-zone.ts";
import { deepFreeze } from "../util/deep-freeze.ts";
import { editDistance } from "../util/edit-distance.ts";

/**
 * Splits a task file into its frontmatter (validated into `ResolvedTaskMeta`)
 * and the TypeScript to bundle. Pure: the caller reads the file.
 *
 * The YAML is parsed with `yaml.parseDocument` + `LineCounter` rather than
 * gray-matter: gray-matter caches by content and loses node positions, and every
 * message here must point at the file's own line (the YAML starts a few lines
 * into the file, so positions are shifted back to file lines).
 */

export { ERR_TASK_FRONTMATTER, ERR_TASK_NODE_VERSION } from "../errors.ts";
import { ERR_TASK_NODE_VERSION } from "../errors.ts";
import { TaskFileError, type TaskFileProblem } from "./task-file-error.ts";
import { readYaml, type Field, type YamlFields } from "./read-frontmatter.ts";
export { findFrontmatter, type FrontmatterBlock } from "./read-frontmatter.ts";
import { findFrontmatter } from "./read-frontmatter.ts";

export { TaskFileError, type TaskFileProblem } from "./task-file-error.ts";

export interface ParsedTaskFile {
  readonly meta: ResolvedTaskMeta;
  readonly warnings: readonly TaskFileProblem[];
  /** The source to bundle: a bare `---` block blanked out, line numbers unchanged. */
  readonly code: string;
}

export interface ParseTaskFileOptions {
  /**
   * Zone that local `start_date`/`end_date` strings are read in when the task has
   * no `timezone` of its own (the scheduler's zone). Default: the machine's zone.
   */
  zone?: string;
  /** The Node the task will run on (`process.version`): a `node_version` it does not satisfy is an error at that field's line. */
  nodeVersion?: string;
}

/**
 * @param source the file's text
 * @param file display path (relative to the project root), used in every message
 */
export function parseTaskFile(source: string, file: string, options: ParseTaskFileOptions = {}): ParsedTaskFile {
  const block = findFrontmatter(source, file);
  const title = defaultTitle(file);
  if (block === undefined) {
    return deepFreeze({ meta: { ...TASK_META_DEFAULTS, title }, warnings: [], code: source });
  }
  const fields = readYaml(block, file);
  const { meta, warnings } = resolveFields(fields, { file, title, zone: options.zone });
  if (options.nodeVersion !== undefined) {
    checkNodeVersion(meta, options.nodeVersion, file, fields.fields.find((f) => f.name === "node_version")?.line);
  }
  return deepFreeze({ meta, warnings, code: block.code });
}

/**
 * Refuses a task whose `node_version` the running Node does not satisfy.
 * Prereleases count (a nightly 23.0.0-pre satisfies ">=22").
 */
export function checkNodeVersion(meta: ResolvedTaskMeta, nodeVersion: string = process.version, file = "task", line?: number): void {
  if (meta.nodeVersion === null) return;
  if (semver.satisfies(nodeVersion, meta.nodeVersion, { includePrerelease: true })) return;
  throw TaskFileError.ofField(
    file,
    { line },
    "node_version",
    `asks for Node ${meta.nodeVersion}, but the host runs ${nodeVersion}; run the host on a matching Node or change node_version`,
    ERR_TASK_NODE_VERSION,
  );
}

// The rule lives with the installer; re-exported for the parser's callers.
export { dependencySpecProblem } from "../deps/dependency-spec.ts";

// ---------------------------------------------------------------------------
// Validating the fields

interface ResolveContext {
  file: string;
  title: string;
  zone: string | undefined;
}

function resolveFields(yaml: YamlFields, ctx: ResolveContext): { meta: ResolvedTaskMeta; warnings: TaskFileProblem[] } {
  const { file } = ctx;
  const warnings = [...yaml.warnings];
  const byName = new Map<string, Field>();
  for (const f of yaml.fields) {
    if ((TASK_META_FIELDS as readonly string[]).includes(f.name)) {
      byName.set(f.name, f);
    } else {
      warnings.push({
        file,
        line: f.line,
        column: f.column,
        field: f.name,
        message: `${file}:${f.line}: unknown frontmatter field "${f.name}" is ignored${suggest(f.name, TASK_META_FIELDS as readonly string[])}`,
      });
    }
  }

  const fail = (f: Field, expected: string, line = f.line, column = f.column, got: unknown = f.value): never => {
    throw TaskFileError.ofField(file, { line, column }, f.name, `must be ${expected}, got ${describeValue(got)}`);
  };
  /** The value, or undefined when absent or written empty (`timeout:`), which means "default". */
  const get = (name: keyof TaskMetaInput): Field | undefined => {
    const f = byName.get(name);
    return f && f.value !== null && f.value !== undefined ? f : undefined;
  };
  const str = (name: keyof TaskMetaInput, expected: string, allowEmpty: boolean): string | undefined => {
    const f = get(name);
    if (!f) return undefined;
    if (typeof f.value !== "string" || (!allowEmpty && f.value.trim() === "")) fail(f, expected);
    return (f.value as string).trim();
  };
  const bool = (name: keyof TaskMetaInput): boolean | undefined => {
    const f = get(name);
    if (f && typeof f.value !== "boolean") fail(f, "true or false");
    return f?.value as boolean | undefined;
  };
  const num = (name: keyof TaskMetaInput, expected: string, ok: (n: number) => boolean): number | undefined => {
    const f = get(name);
    if (f && (typeof f.value !== "number" || !Number.isFinite(f.value) || !ok(f.value))) fail(f, expected);
    const bound = TASK_META_BOUNDS[name];
    if (f && bound && (f.value as number) > bound.max) fail(f, `${expected}, at most ${bound.max} ${bound.unit} (${bound.why})`);
    return f?.value as number | undefined;
  };
  const oneOf = <T extends string>(name: keyof TaskMetaInput, allowed: readonly T[]): T | undefined => {
    const f = get(name);
    if (!f) return undefined;
    const v = typeof f.value === "string" ? f.value.trim().toLowerCase() : undefined;
    if (v === undefined || !(allowed as readonly string[]).includes(v)) fail(f, `one of ${allowed.join(", ")}`);
    return v as T;
  };

  // Every wrong field is reported at once, not the first alone: a field that fails is kept
  // as an error, and the others are still read.
  const errors: TaskFileError[] = [];
  const each = <T>(read: () => T): T | undefined => {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof TaskFileError)) throw error;
      errors.push(error);
      return undefined;
    }
  };

  const timezoneField = get("timezone");
  const timezone: string | null =
    (timezoneField &&
      each(() => {
        const zone = typeof timezoneField.value === "string" ? canonicalZone(timezoneField.value.trim()) : undefined;
        return zone ?? fail(timezoneField, 'an IANA time zone name like "Europe/Paris" or "UTC" (leave it out to use scheduler.timezone)');
      })) ??
    null;
  const dateZone = timezone ?? ctx.zone ?? resolveZone("local");
  const date = (name: "start_date" | "end_date"): number | null => {
    const f = get(name);
    if (!f) return null;
    const ms = parseDateTime(f.value, dateZone);
    if (ms === undefined) fail(f, `an ISO date-time like "2026-12-01T09:00" (read in ${dateZone}) or "2026-12-01T09:00Z"`);
    return ms!;
  };
  const startDate = each(() => date("start_date")) ?? null;
  const endDate = each(() => date("end_date")) ?? null;
  if (startDate !== null && endDate !== null && startDate > endDate) {
    each(() => fail(byName.get("end_date")!, `on or after start_date (${new Date(startDate).toISOString()})`));
  }

  const nodeField = get("node_version");
  const nodeVersion: string | null =
    (nodeField &&
      each(() => {
        // `node_version: 20` arrives as a number; `20.10` would arrive as 20.1, so only integers are taken as-is.
        const raw = Number.isInteger(nodeField.value) ? String(nodeField.value) : nodeField.value;
        if (typeof raw !== "string" || raw.trim() === "" || semver.validRange(raw.trim()) === null) {
          return fail(nodeField, 'a semver range in quotes, like ">=20.19" or "^22"');
        }
        return raw.trim();
      })) ??
    null;

  const meta: ResolvedTaskMeta = {
    title: each(() => str("title", "a non-empty string", false)) ?? ctx.title,
    description: each(() => str("description", "a string", true)) ?? TASK_META_DEFAULTS.description,
    dependencies: each(() => dependencies(get("dependencies"), yaml, file, fail)) ?? [],
    enabled: each(() => bool("enabled")) ?? TASK_META_DEFAULTS.enabled,
    timeoutSec: each(() => num("timeout", "a number of seconds > 0", (n) => n > 0)) ?? TASK_META_DEFAULTS.timeoutSec,
    retryCount: each(() => num("retry_count", "a whole number >= 0", (n) => Number.isInteger(n) && n >= 0)) ?? TASK_META_DEFAULTS.retryCount,
    retryDelaySec: each(() => num("retry_delay", "a number of seconds >= 0", (n) => n >= 0)) ?? TASK_META_DEFAULTS.retryDelaySec,
    catchUp: each(() => oneOf<CatchUpPolicy>("catch_up", CATCH_UP_POLICIES)) ?? TASK_META_DEFAULTS.catchUp,
    overlap: each(() => oneOf<OverlapPolicy>("overlap", OVERLAP_POLICIES)) ?? TASK_META_DEFAULTS.overlap,
    timezone,
    startDate,
    endDate,
    nodeVersion,
    memoryLimitMb: each(() => num("memory_limit", "a whole number of MB > 0", (n) => Number.isInteger(n) && n > 0)) ?? TASK_META_DEFAULTS.memoryLimitMb,
    allowScripts: each(() => bool("allow_scripts")) ?? TASK_META_DEFAULTS.allowScripts,
    notifyOnFailure: each(() => bool("notify_on_failure")) ?? TASK_META_DEFAULTS.notifyOnFailure,
    isolation: each(() => oneOf<IsolationLevel>("isolation", ISOLATION_LEVELS)) ?? TASK_META_DEFAULTS.isolation,
    ...(each(() => alertFields(get("alerts"), get("ping_url"), fail)) ?? { alerts: null, pingUrl: null }),
  };
  const [first, ...more] = errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  if (first) {
    // The first one's place; every one's message, a line each, in the file's order.
    if (more.length === 0) throw first;
    throw new TaskFileError(errors.map((e) => e.message).join("\n"), file, first.line, first.column, first.field);
  }
  return { meta, warnings };
}

type Fail = (f: Field, expected: string, line?: number, column?: number, got?: unknown) => never;

/** `alerts: [ops, mail]` (or false: none) and `ping_url` (contract §11). */
function alertFields(alerts: Field | undefined, ping: Field | undefined, fail: Fail): Pick<ResolvedTaskMeta, "alerts" | "pingUrl"> {
  let names: string[] | null = null;
  if (alerts) {
    if (alerts.value === false) names = [];
    else if (!Array.isArray(alerts.value) || alerts.value.some((n) => typeof n !== "string" || n.trim() === "")) {
      fail(alerts, "a list of alert channel names (from alerts.channels in config.yaml), or false");
    } else names = (alerts.value as string[]).map((n) => n.trim());
  }
  let pingUrl: string | null = null;
  if (ping) {
    const url = typeof ping.value === "string" ? URL.parse(ping.value.trim()) : null;
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) fail(ping, 'an http(s) URL, like "https://hc-ping.com/<uuid>"');
    pingUrl = (ping.value as string).trim().replace(/\/+$/, "");
  }
  return { alerts: names, pingUrl };
}

function dependencies(f: Field | undefined, yaml: YamlFields, file: string, fail: Fail): string[] {
  if (!f) return [];
  const expected = 'a list of npm package specs, like ["dayjs@^1.11", "@scope/name@beta"]';
  if (!Array.isArray(f.value) || !isSeq(f.node)) return fail(f, expected);
  const seq = f.node;
  const specs: string[] = [];
  const names = new Map<string, string>();
  // Every bad entry at once (the first one's line leads): fixing one to find the next is slow.
  const refused: Array<{ line: number; column: number; text: string }> = [];
  f.value.forEach((spec: unknown, i) => {
    const { line, column } = yaml.at((seq.items[i] as Node | undefined)?.range?.[0], f);
    if (typeof spec !== "string") return fail(f, `${expected} (item ${i + 1} is not a string)`, line, column, spec);
    const refuse = (why: string) => void refused.push({ line, column, text: `dependency ${JSON.stringify(spec)} ${why}` });
    const problem = dependencySpecProblem(spec);
    if (problem) return refuse(problem);
    // One version per package per task: two would fight over node_modules/<name>.
    const name = npa(spec, "/").name!;
    const earlier = names.get(name);
    if (earlier !== undefined) return refuse(`repeats ${JSON.stringify(earlier)}; list each package once`);
    names.set(name, spec);
    specs.push(spec);
  });
  const [first, ...more] = refused;
  if (first) {
    const also = more.map((r) => `; line ${r.line}: ${r.text}`).join("");
    throw new TaskFileError(`${file}:${first.line}: ${first.text}${also}`, file, first.line, first.column, f.name);
  }
  return specs;
}

// ---------------------------------------------------------------------------
// Small helpers

/** `tasks/reports/daily.ts` -> "daily". */
function defaultTitle(file: string): string {
  const base = file.split(/[\\/]/).at(-1) ?? file;
  return base.replace(/\.ts$/, "") || base;
}

/**
 * Epoch ms of an ISO date-time, or undefined. With `Z`/offset it is an instant;
 * with a `[Zone]` suffix a wall-clock time of that zone; otherwise a wall-clock
 * time (a bare date is its midnight) read in `zone`. The schedules' own parser
 * (parse-once.ts) and DST rule (a skipped time moves forward): one date-time
 * reading for @once, start_date/end_date and backfill ranges.
 */
function parseDateTime(value: unknown, zone: string): number | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
  if (typeof value !== "string") return undefined;
  const bracket = /^(.*)\[([^\]]+)\]$/.exec(value.trim());
  const named = bracket ? canonicalZone(bracket[2]!) : zone;
  if (named === undefined) return undefined;
  try {
    return onceInstant(bracket ? bracket[1]! : value.trim(), named);
  } catch {
    return undefined;
  }
}

/** Names other schedulers (and `taskhost new --retries`) use for a field, too far from it to be a misspelling. */
const OTHER_NAMES: Readonly<Record<string, string>> = {
  retries: "retry_count",
  retry: "retry_count",
  maxretries: "retry_count",
  retrybackoff: "retry_delay",
  deps: "dependencies",
  tz: "timezone",
  memory: "memory_limit",
  concurrency: "overlap",
};

/** " (did you mean x?)" for near misses (`retryCount`, `timout`) and other schedulers' names (`retries`). */
function suggest(key: string, known: readonly string[]): string {
  const norm = (s: string) => s.toLowerCase().replace(/[-_\s]/g, "");
  const hit =
    known.find((k) => norm(k) === norm(key)) ??
    known.find((k) => k === OTHER_NAMES[norm(key)]) ??
    known.find((k) => editDistance(norm(k), norm(key)) <= 2);
  return hit ? ` (did you mean "${hit}"?)` : "";
}


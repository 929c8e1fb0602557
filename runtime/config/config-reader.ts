/**
 * Reads config.yaml one value at a time for resolve-config.ts: each value checked
 * against its bound, falling back to its default, and every message naming the
 * file, the key and its line (ConfigError).
 */
import { describeValue } from "../util/describe-value.ts";
import path from "node:path";
import { resolveLoggingOptions, type LoggingOptions, type ResolvedLoggingOptions } from "../logging/logging-options.ts";
import { DATABASE_URL_ENV, DEFAULT_CONFIG_OPTIONS, type ConfigWarning } from "./config-options.ts";
import { canonicalZone, resolveZone } from "../schedule/resolve-zone.ts";
import { editDistance } from "../util/edit-distance.ts";
import type { Bound } from "./value-bounds.ts";
import { resolveAlertsOptions, type ResolvedAlertsOptions } from "./alerts-options.ts";
import { ERR_CONFIG_INVALID } from "../errors.ts";
import { displayConfigPath } from "../util/display-path.ts";

export class ConfigError extends Error {
  readonly code = ERR_CONFIG_INVALID;
  constructor(
    message: string,
    /** Display path of the config file (relative to the project root when inside it). */
    readonly file: string,
    /** Dotted key, e.g. "scheduler.max_concurrent_runs"; undefined for file-level problems. */
    readonly key: string | undefined,
    /** 1-based; undefined when the position is unknown. */
    readonly line: number | undefined,
    readonly column?: number,
  ) {
    super(message);
    this.name = "ConfigError";
  }
}

export interface ResolveConfigContext {
  /** Absolute project root: relative paths in the file are relative to it (contract §6). */
  projectRoot: string;
  /** Absolute path of the config file, used in messages only. */
  configPath: string;
  /** Defaults to process.env; passed in so tests and reloads stay deterministic. */
  env?: NodeJS.ProcessEnv;
  /** Line (1-based) of a key in the source, when the caller parsed one. */
  lineOf?: (keyPath: string[]) => number | undefined;
  /** config/secrets.yaml as parsed: its `alerts:` keys (SMTP password, webhook secrets) win over the file's. */
  secrets?: unknown;
}

export type Section = keyof typeof DEFAULT_CONFIG_OPTIONS;

export { displayConfigPath } from "../util/display-path.ts";

type Obj = Record<string, unknown>;

/**
 * Reads one value at a time, falling back to the default, and builds messages
 * that name the file, the key and its line.
 */
export class ConfigReader {
  readonly warnings: ConfigWarning[] = [];
  private readonly file: string;

  constructor(private readonly context: ResolveConfigContext) {
    this.file = displayConfigPath(context.configPath, context.projectRoot);
  }

  root(input: unknown): Obj {
    // An empty file parses to null/undefined: all defaults.
    if (input === null || input === undefined) return {};
    if (!isPlainObject(input)) {
      throw new ConfigError(
        `${this.file}:1: config must be a mapping of sections (scheduler:, database:, ...), got ${describeValue(input)}`,
        this.file,
        undefined,
        1,
      );
    }
    for (const key of Object.keys(input)) {
      if (!(key in DEFAULT_CONFIG_OPTIONS)) this.warn([key], `unknown config section "${key}" is ignored${suggest(key, Object.keys(DEFAULT_CONFIG_OPTIONS))}`);
    }
    return input;
  }

  section(root: Obj, name: Section): Obj {
    const value = root[name];
    // `scheduler:` with nothing under it is YAML null: the user emptied the section, use defaults.
    if (value === null || value === undefined) return {};
    if (!isPlainObject(value)) {
      throw this.error([name], `config section ${name} must be a mapping of keys, got ${describeValue(value)}`);
    }
    const known = Object.keys(DEFAULT_CONFIG_OPTIONS[name]);
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) this.warn([name, key], `unknown config key ${name}.${key} is ignored${suggest(key, known)}`);
    }
    return value;
  }

  /** The raw value, or the default when the key is absent (null counts as absent unless the default is null). */
  private raw(obj: Obj, section: Section, key: string): unknown {
    const value = obj[key];
    return value === undefined || value === null ? (DEFAULT_CONFIG_OPTIONS[section] as Obj)[key] : value;
  }

  private invalid(section: Section, key: string, expected: string, value: unknown): ConfigError {
    const def = (DEFAULT_CONFIG_OPTIONS[section] as Obj)[key];
    return this.error(
      [section, key],
      `config key ${section}.${key} must be ${expected}, got ${describeValue(value)}; ` +
        `fix the value or remove the key to use the default (${def === null ? "null" : String(def)})`,
    );
  }

  error(keyPath: string[], message: string): ConfigError {
    const line = this.context.lineOf?.(keyPath);
    return new ConfigError(`${this.file}${line ? `:${line}` : ""}: ${message}`, this.file, keyPath.join("."), line);
  }

  private warn(keyPath: string[], message: string): void {
    const line = this.context.lineOf?.(keyPath);
    this.warnings.push({ key: keyPath.join("."), line, message: `${this.file}${line ? `:${line}` : ""}: ${message}` });
  }

  bool(obj: Obj, section: Section, key: string): boolean {
    const v = this.raw(obj, section, key);
    if (typeof v !== "boolean") throw this.invalid(section, key, "true or false", v);
    return v;
  }

  positiveInt(obj: Obj, section: Section, key: string, bound?: Bound): number {
    const v = this.raw(obj, section, key);
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw this.invalid(section, key, "a positive integer", v);
    return this.within(v, bound, section, key, "a positive integer");
  }

  positiveNumber(obj: Obj, section: Section, key: string, expected: string, bound?: Bound): number {
    const v = this.raw(obj, section, key);
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw this.invalid(section, key, expected, v);
    return this.within(v, bound, section, key, expected);
  }

  nonNegativeNumber(obj: Obj, section: Section, key: string, expected: string, bound?: Bound): number {
    const v = this.raw(obj, section, key);
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw this.invalid(section, key, expected, v);
    return this.within(v, bound, section, key, expected);
  }

  /** A value taskhost cannot honour (issue 10.11) is refused, naming the key and the limit. */
  private within(v: number, bound: Bound | undefined, section: Section, key: string, expected: string): number {
    if (bound && v > bound.max) throw this.invalid(section, key, `${expected}, at most ${bound.max} ${bound.unit} (${bound.why})`, v);
    return v;
  }

  atLeast(v: number, min: number, section: Section, key: string, unitAndWhy: string): number {
    if (v < min) throw this.invalid(section, key, `at least ${min} ${unitAndWhy}`, v);
    return v;
  }

  oneOf<T extends string>(obj: Obj, section: Section, key: string, allowed: readonly T[]): T {
    const v = this.raw(obj, section, key);
    const norm = typeof v === "string" ? v.trim().toLowerCase() : undefined;
    if (norm === undefined || !(allowed as readonly string[]).includes(norm)) throw this.invalid(section, key, `one of ${allowed.join(", ")}`, v);
    return norm as T;
  }

  nonEmptyString(obj: Obj, section: Section, key: string): string {
    const v = this.raw(obj, section, key);
    if (typeof v !== "string" || v.trim() === "") throw this.invalid(section, key, "a non-empty string", v);
    return v.trim();
  }

  optionalNonEmptyString(obj: Obj, section: Section, key: string): string | null {
    const v = this.raw(obj, section, key);
    if (v === null || v === undefined) return null;
    if (typeof v !== "string" || v.trim() === "") throw this.invalid(section, key, "a non-empty string or null", v);
    return v.trim();
  }

  /** database.lease: at least a second (a heartbeat every quarter lease), at most an hour (takeover would wait that long). */
  leaseSeconds(obj: Obj): number {
    const v = this.positiveNumber(obj, "database", "lease", "a number of seconds >= 1", { max: 3600, unit: "seconds", why: "a dead host's runs wait that long" });
    if (v < 1) throw this.invalid("database", "lease", "a number of seconds >= 1", v);
    return v;
  }

  /** database.url, else the environment's; its value never appears in a message (it holds a password). */
  databaseUrl(obj: Obj, fromEnv: string | undefined): string | null {
    const v = this.raw(obj, "database", "url");
    if (v === null || v === undefined) return fromEnv && fromEnv.trim() !== "" ? fromEnv.trim() : null;
    if (typeof v !== "string" || !/^postgres(ql)?:\/\/\S+$/i.test(v.trim())) {
      throw this.error(
        ["database", "url"],
        `config key database.url must be a postgres://user:password@host:port/database URL or null (got ${typeof v === "string" ? "a string that is not one" : describeValue(v)}); ` +
          `remove the key to use the sql.js file at database.path, or set ${DATABASE_URL_ENV}`,
      );
    }
    return v.trim();
  }

  path(obj: Obj, section: Section, key: string): string {
    const v = this.raw(obj, section, key);
    if (typeof v !== "string" || v.trim() === "") throw this.invalid(section, key, "a path (absolute, or relative to the project root)", v);
    return path.resolve(this.context.projectRoot, v.trim());
  }

  pathList(obj: Obj, section: Section, key: string): string[] {
    const v = this.raw(obj, section, key);
    if (!Array.isArray(v) || v.some((item) => typeof item !== "string" || item.trim() === "")) {
      throw this.invalid(section, key, "a list of folders (absolute, or relative to the project root)", v);
    }
    return (v as string[]).map((item) => path.resolve(this.context.projectRoot, item.trim()));
  }

  /**
   * The logging section belongs to the log writers (runtime/logging); they own its
   * rules, this only adds the file and line to their message.
   */
  logging(obj: Obj): ResolvedLoggingOptions {
    try {
      return resolveLoggingOptions(obj as LoggingOptions, this.context.projectRoot);
    } catch (err) {
      const message = (err as Error).message;
      const key = /^logging\.(\w+)/.exec(message)?.[1];
      throw this.error(key ? ["logging", key] : ["logging"], `config key ${message}`);
    }
  }

  /** Sections whose rules live with their code (alerts, metrics): this only adds the file and line. */
  owned<T>(fallbackKey: string[], resolve: () => T): T {
    try {
      return resolve();
    } catch (err) {
      const keyPath = (err as { keyPath?: string[] }).keyPath ?? fallbackKey;
      throw this.error(keyPath, (err as Error).message);
    }
  }

  alerts(obj: Obj, secrets: unknown): ResolvedAlertsOptions {
    const secret = isPlainObject(secrets) && isPlainObject(secrets.alerts) ? secrets.alerts : {};
    const merged = { ...obj, ...secret };
    for (const key of ["smtp", "channels"]) {
      if (isPlainObject(obj[key]) && isPlainObject(secret[key])) merged[key] = mergeDeep(obj[key], secret[key]);
    }
    const { options, warnings } = this.owned(["alerts"], () => resolveAlertsOptions(merged, this.context.env ?? process.env));
    for (const w of warnings) this.warn(w.keyPath, w.message);
    return options;
  }

  port(obj: Obj, section: Section, key: string): number {
    const v = this.raw(obj, section, key);
    // 0 (any free port) is allowed: tests and side-by-side hosts use it.
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 65535) throw this.invalid(section, key, "a port number 0-65535", v);
    return v;
  }

  registry(obj: Obj, section: Section, key: string): string | null {
    const v = this.raw(obj, section, key);
    if (v === null) return null;
    if (typeof v === "string") {
      try {
        const url = new URL(v.trim());
        if (url.protocol === "http:" || url.protocol === "https:") return v.trim();
      } catch {
        // fall through to the error below
      }
    }
    throw this.invalid(section, key, "an http(s) URL or null", v);
  }

  timezone(obj: Obj, section: Section, key: string): { zone: string; isLocal: boolean } {
    const v = this.raw(obj, section, key);
    if (typeof v === "string" && v.trim().toLowerCase() === "local") return { zone: resolveZone("local"), isLocal: true };
    const zone = typeof v === "string" ? canonicalZone(v.trim()) : undefined;
    if (zone === undefined) throw this.invalid(section, key, 'an IANA time zone name like "Europe/Paris" or "UTC", or "local"', v);
    return { zone, isLocal: false };
  }
}

/** `b` over `a`, mappings merged key by key (secrets.yaml over config.yaml). */
function mergeDeep(a: Obj, b: Obj): Obj {
  const out: Obj = { ...a };
  for (const [key, value] of Object.entries(b)) out[key] = isPlainObject(out[key]) && isPlainObject(value) ? mergeDeep(out[key] as Obj, value) : value;
  return out;
}

function isPlainObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** " (did you mean x?)" when a known key is a near miss of `key`. */
function suggest(key: string, known: string[]): string {
  const norm = (s: string) => s.toLowerCase().replace(/[-_\s]/g, "");
  const hit = known.find((k) => norm(k) === norm(key)) ?? known.find((k) => editDistance(norm(k), norm(key)) <= 2);
  return hit ? ` (did you mean ${hit}?)` : "";
}


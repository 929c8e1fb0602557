/**
 * The `alerts:` and `metrics:` sections of `config/config.yaml` (contract §11),
 * as the user writes them and as the alerting code reads them. Pure: the
 * config resolver calls it on every start and hot reload, adds the file and
 * line to a problem, and keeps the old configuration when it throws.
 *
 * Secrets (the SMTP password, a webhook's signing secret, a Slack URL) may sit
 * in `config/secrets.yaml` under the same `alerts:` path instead; the caller
 * merges that file's `alerts:` over this one before calling. The SMTP password
 * may also come from TASKHOST_SMTP_PASSWORD.
 */
import type { SmtpSettings } from "../util/smtp-transport.ts";
import { taskhostError, type TaskhostError } from "../errors.ts";

export type AlertRule = "failure" | "recovered" | "streak" | "slow" | "missed" | "error";
export const ALERT_RULES: readonly AlertRule[] = ["failure", "recovered", "streak", "slow", "missed", "error"];

export type ChannelType = "webhook" | "slack" | "email" | "desktop";
export const CHANNEL_TYPES: readonly ChannelType[] = ["webhook", "slack", "email", "desktop"];

export type ChannelOptions =
  | { readonly name: string; readonly type: "webhook"; readonly url: string; readonly secret: string | null }
  | { readonly name: string; readonly type: "slack"; readonly url: string }
  | { readonly name: string; readonly type: "email"; readonly to: readonly string[] }
  | { readonly name: string; readonly type: "desktop" };

/** `alerts.smtp`: host, port, TLS, user, password (from config/secrets.yaml), From; host null = no SMTP server configured. */
export type SmtpOptions = SmtpSettings;

export interface ResolvedAlertsOptions {
  readonly channels: readonly ChannelOptions[];
  readonly smtp: SmtpOptions;
  readonly rules: readonly AlertRule[];
  readonly failureStreak: number;
  readonly slowFactor: number;
  /** "slow" also fires for a run longer than this, median or not; null: only the factor. */
  readonly slowAfterSec: number | null;
  readonly missedGraceSec: number;
  readonly repeatAfterSec: number;
  readonly heartbeatUrl: string | null;
}

export interface ResolvedMetricsOptions {
  readonly enabled: boolean;
  /** Bearer token for GET /metrics; null: the dashboard's token. */
  readonly token: string | null;
}

/** Defaults, in the user's spelling (config/config.yaml mirrors them). */
export const ALERTS_DEFAULTS = {
  channels: {},
  smtp: { host: null, port: 587, secure: false, user: null, password: null, from: null },
  rules: ["failure", "recovered", "streak", "slow", "missed", "error"],
  failure_streak: 3,
  slow_factor: 3,
  slow_after: null,
  missed_grace: 60,
  repeat_after: 3600,
  heartbeat_url: null,
} as const;

export const METRICS_DEFAULTS = { enabled: false, token: null } as const;

export const SMTP_PASSWORD_ENV = "TASKHOST_SMTP_PASSWORD";

/** A key under `alerts:` nobody reads: reported, never fatal. */
export interface AlertsWarning {
  readonly keyPath: string[];
  readonly message: string;
}

type Obj = Record<string, unknown>;

const CHANNEL_KEYS: Record<ChannelType, readonly string[]> = {
  webhook: ["type", "url", "secret"],
  slack: ["type", "url"],
  email: ["type", "to"],
  desktop: ["type"],
};

/** A bad value: `keyPath` is the dotted key from the file's root, e.g. ["alerts", "channels", "ops", "url"]. */
function invalid(keyPath: string[], expected: string, got: unknown): TaskhostError & { keyPath: string[] } {
  return taskhostError("ERR_CONFIG_INVALID", `config key ${keyPath.join(".")} must be ${expected}, got ${describe(got)}`, { keyPath });
}

export function resolveAlertsOptions(
  input: unknown,
  env: NodeJS.ProcessEnv = {},
): { options: ResolvedAlertsOptions; warnings: AlertsWarning[] } {
  const warnings: AlertsWarning[] = [];
  const root = mapping(input, ["alerts"]);
  const at = (key: string): unknown => root[key] ?? (ALERTS_DEFAULTS as Obj)[key];

  const channelsIn = mapping(root.channels, ["alerts", "channels"]);
  const channels = Object.entries(channelsIn).map(([name, raw]) => channel(name, raw, warnings));

  const smtpIn = mapping(root.smtp, ["alerts", "smtp"]);
  for (const key of Object.keys(smtpIn)) {
    if (!(key in ALERTS_DEFAULTS.smtp)) warnings.push({ keyPath: ["alerts", "smtp", key], message: `unknown config key alerts.smtp.${key} is ignored` });
  }
  const smtpAt = (key: keyof typeof ALERTS_DEFAULTS.smtp): unknown => smtpIn[key] ?? ALERTS_DEFAULTS.smtp[key];
  const envPassword = env[SMTP_PASSWORD_ENV];
  const smtp: SmtpOptions = {
    host: optionalString(smtpAt("host"), ["alerts", "smtp", "host"]),
    port: port(smtpAt("port"), ["alerts", "smtp", "port"]),
    secure: bool(smtpAt("secure"), ["alerts", "smtp", "secure"]),
    user: optionalString(smtpAt("user"), ["alerts", "smtp", "user"]),
    password: optionalString(smtpAt("password"), ["alerts", "smtp", "password"]) ?? (envPassword && envPassword !== "" ? envPassword : null),
    from: optionalString(smtpAt("from"), ["alerts", "smtp", "from"]),
  };
  if (channels.some((c) => c.type === "email") && smtp.host === null) {
    throw taskhostError(
      "ERR_CONFIG_INVALID",
      "config key alerts.smtp.host must name an SMTP server when a channel has type: email (or remove the email channel)",
      { keyPath: ["alerts", "smtp", "host"] },
    );
  }

  const rulesIn = at("rules");
  if (!Array.isArray(rulesIn) || rulesIn.some((r) => typeof r !== "string" || !(ALERT_RULES as readonly string[]).includes(r.trim()))) {
    throw invalid(["alerts", "rules"], `a list of rules from ${ALERT_RULES.join(", ")}`, Array.isArray(rulesIn) ? rulesIn.find((r) => !(ALERT_RULES as readonly unknown[]).includes(r)) : rulesIn);
  }

  const options: ResolvedAlertsOptions = {
    channels,
    smtp,
    rules: [...new Set(rulesIn.map((r: string) => r.trim() as AlertRule))],
    failureStreak: integer(at("failure_streak"), ["alerts", "failure_streak"], 2),
    slowFactor: positive(at("slow_factor"), ["alerts", "slow_factor"], "a number > 1", (n) => n > 1),
    slowAfterSec: at("slow_after") === null ? null : positive(at("slow_after"), ["alerts", "slow_after"], "a number of seconds > 0, or null", (n) => n > 0),
    missedGraceSec: positive(at("missed_grace"), ["alerts", "missed_grace"], "a number of seconds >= 0", (n) => n >= 0),
    repeatAfterSec: positive(at("repeat_after"), ["alerts", "repeat_after"], "a number of seconds >= 0", (n) => n >= 0),
    heartbeatUrl: at("heartbeat_url") === null ? null : httpUrl(at("heartbeat_url"), ["alerts", "heartbeat_url"]),
  };
  return { options, warnings };
}

export function resolveMetricsOptions(input: unknown): ResolvedMetricsOptions {
  const root = mapping(input, ["metrics"]);
  return {
    enabled: bool(root.enabled ?? METRICS_DEFAULTS.enabled, ["metrics", "enabled"]),
    token: optionalString(root.token ?? METRICS_DEFAULTS.token, ["metrics", "token"]),
  };
}

function channel(name: string, raw: unknown, warnings: AlertsWarning[]): ChannelOptions {
  const keyPath = ["alerts", "channels", name];
  if (!/^[A-Za-z0-9][\w-]*$/.test(name)) {
    throw taskhostError("ERR_CONFIG_INVALID", `config key ${keyPath.join(".")}: a channel name is letters, digits, "-" and "_"`, { keyPath });
  }
  const obj = mapping(raw, keyPath, true);
  const type = typeof obj.type === "string" ? obj.type.trim().toLowerCase() : obj.type;
  if (!(CHANNEL_TYPES as readonly unknown[]).includes(type)) throw invalid([...keyPath, "type"], `one of ${CHANNEL_TYPES.join(", ")}`, obj.type);
  const t = type as ChannelType;
  for (const key of Object.keys(obj)) {
    if (!CHANNEL_KEYS[t].includes(key)) {
      warnings.push({ keyPath: [...keyPath, key], message: `unknown config key ${keyPath.join(".")}.${key} is ignored (a ${t} channel has ${CHANNEL_KEYS[t].join(", ")})` });
    }
  }
  switch (t) {
    case "webhook":
      return { name, type: t, url: httpUrl(obj.url, [...keyPath, "url"]), secret: optionalString(obj.secret ?? null, [...keyPath, "secret"]) };
    case "slack":
      return { name, type: t, url: httpUrl(obj.url, [...keyPath, "url"]) };
    case "email": {
      const to = typeof obj.to === "string" ? [obj.to] : obj.to;
      if (!Array.isArray(to) || to.length === 0 || to.some((a) => typeof a !== "string" || !/^[^@\s]+@[^@\s]+$/.test(a.trim()))) {
        throw invalid([...keyPath, "to"], 'a list of e-mail addresses, like ["ops@example.com"]', obj.to);
      }
      return { name, type: t, to: to.map((a: string) => a.trim()) };
    }
    case "desktop":
      return { name, type: t };
  }
}

function mapping(value: unknown, keyPath: string[], required = false): Obj {
  if ((value === null || value === undefined) && !required) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(keyPath, "a mapping of keys", value);
  return value as Obj;
}

function bool(value: unknown, keyPath: string[]): boolean {
  if (typeof value !== "boolean") throw invalid(keyPath, "true or false", value);
  return value;
}

function optionalString(value: unknown, keyPath: string[]): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "string") throw invalid(keyPath, "a string or null", value);
  return value.trim() === "" ? null : value.trim();
}

function port(value: unknown, keyPath: string[]): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0 || value > 65535) throw invalid(keyPath, "a port number 1-65535", value);
  return value;
}

function integer(value: unknown, keyPath: string[], min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) throw invalid(keyPath, `a whole number >= ${min}`, value);
  return value;
}

function positive(value: unknown, keyPath: string[], expected: string, ok: (n: number) => boolean): number {
  if (typeof value !== "number" || !Number.isFinite(value) || !ok(value)) throw invalid(keyPath, expected, value);
  return value;
}

/** An http(s) URL (a webhook, Slack, a ping endpoint). */
export function httpUrl(value: unknown, keyPath: string[]): string {
  if (typeof value === "string") {
    try {
      const url = new URL(value.trim());
      if (url.protocol === "http:" || url.protocol === "https:") return value.trim();
    } catch {
      // the error below
    }
  }
  throw invalid(keyPath, "an http(s) URL", value);
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  // A secret or a URL with a token in it must not end up in a log line whole.
  return typeof v === "string" ? JSON.stringify(v.length > 60 ? `${v.slice(0, 20)}…` : v) : String(v);
}

/**
 * Options of the PostgreSQL ledger, and the two things every message about the
 * database needs: where it is WITHOUT its password, and what a connection
 * failure means for the operator.
 */
import { isCode, taskhostError, type TaskhostError } from "../errors.ts";

export interface PgLedgerOptions {
  /** postgres://user:password@host:5432/db — the password never leaves this object. */
  url: string;
  /** How long a host stays alive without a heartbeat (ms). Default 6000: takeover within 10 s. */
  leaseMs?: number;
  /** Connections this host keeps at most. Default 4. */
  poolSize?: number;
  /** How long one connection attempt may take (ms). Default 5000. */
  connectTimeoutMs?: number;
  /**
   * How long a query may go without an answer (ms) before it fails as unreachable. Default
   * 30000: a network that drops packets (a firewall, a VPN, a failover) would otherwise hold a
   * query for the kernel's ~15 minutes, and the host would not know its database is away.
   */
  queryTimeoutMs?: number;
  /** Retry the first connection until it works (the host's start), instead of failing. Default false. */
  waitForDatabase?: boolean;
  /** Stops that waiting (the host is told to stop while the database is still away). */
  signal?: AbortSignal;
  /** Things the operator should know that are not errors (a lost connection, a retry), with the ERR_* code when there is one. */
  onWarning?: (message: string, code?: string) => void;
  /** This host's clock (ms), against which heartbeats measure skew. Default Date.now. */
  clock?: () => number;
}

export interface ResolvedPgLedgerOptions {
  readonly url: string;
  /** The URL without its password, for messages. */
  readonly where: string;
  readonly leaseMs: number;
  readonly poolSize: number;
  readonly connectTimeoutMs: number;
  readonly queryTimeoutMs: number;
  readonly waitForDatabase: boolean;
  readonly signal: AbortSignal | undefined;
  readonly onWarning: (message: string, code?: string) => void;
  readonly clock: () => number;
}

export const DEFAULT_LEASE_MS = 6000;

/** `postgres://user:***@host:5432/db`: safe for a log line, status or the dashboard. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    // Query parameters may carry a password too (?password=…); keep only their names.
    for (const key of [...u.searchParams.keys()]) if (/pass|secret|key/i.test(key)) u.searchParams.set(key, "***");
    return u.toString();
  } catch {
    return "(an unparsable database URL)";
  }
}

export function isPostgresUrl(url: unknown): url is string {
  return typeof url === "string" && /^postgres(ql)?:\/\//i.test(url);
}

/**
 * What `openLedger(config.database)` passes to openPgLedger: null without a URL (the sql.js file).
 * A host waits for its database (retrying, with a warning each time) rather than failing to start.
 */
export function pgLedgerOptionsOf(
  database: { readonly url: string | null; readonly leaseSec: number },
  extra: Omit<PgLedgerOptions, "url" | "leaseMs"> = {},
): PgLedgerOptions | null {
  if (database.url === null) return null;
  return { waitForDatabase: true, ...extra, url: database.url, leaseMs: Math.round(database.leaseSec * 1000) };
}

export function resolvePgLedgerOptions(options: PgLedgerOptions): ResolvedPgLedgerOptions {
  const { url, leaseMs = DEFAULT_LEASE_MS, poolSize = 4, connectTimeoutMs = 5000, queryTimeoutMs = 30_000, waitForDatabase = false, signal, onWarning, clock = Date.now } = options;
  if (!isPostgresUrl(url)) {
    throw taskhostError("ERR_STORE_OPTIONS", `database.url must start with postgres:// or postgresql:// (got ${JSON.stringify(redactUrl(String(url)))}).`);
  }
  for (const [name, value, min] of [
    ["leaseMs", leaseMs, 1000],
    ["poolSize", poolSize, 1],
    ["connectTimeoutMs", connectTimeoutMs, 100],
    ["queryTimeoutMs", queryTimeoutMs, 100],
  ] as const) {
    if (!Number.isInteger(value) || value < min) {
      throw taskhostError("ERR_STORE_OPTIONS", `PostgreSQL ledger option "${name}" must be an integer >= ${min} (got ${String(value)}).`);
    }
  }
  return Object.freeze({
    url,
    where: redactUrl(url),
    leaseMs,
    poolSize,
    connectTimeoutMs,
    queryTimeoutMs,
    waitForDatabase,
    signal,
    onWarning: onWarning ?? ((message: string) => process.emitWarning(message, { code: "TASKHOST_LEDGER" })),
    clock,
  });
}

/** Socket and server-availability failures: the database is not reachable (yet), as opposed to a query being wrong. */
const UNREACHABLE_ERRNO = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EPIPE"]);
/** SQLSTATE classes 08 (connection exception) and 57P (operator intervention: shutdown, cannot connect now). */
function isUnreachable(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  if (typeof e?.code === "string" && (UNREACHABLE_ERRNO.has(e.code) || e.code.startsWith("08") || e.code.startsWith("57P"))) return true;
  const message = typeof e?.message === "string" ? e.message : "";
  return /timeout exceeded when trying to connect|timeout expired|Connection terminated|connection timeout|Client has encountered a connection error|Query read timeout/i.test(message);
}

/**
 * A driver error as the operator should read it. Unreachable: ERR_DB_UNREACHABLE naming
 * the server (never the password) and saying what to check. Others pass through.
 */
export function explainPgError(error: unknown, where: string, doing: string): unknown {
  if (isCode(error, "ERR_DB_UNREACHABLE") || !isUnreachable(error)) return error;
  const detail = (error as Error)?.message ?? String(error);
  return taskhostError(
    "ERR_DB_UNREACHABLE",
    `PostgreSQL ledger at ${where} cannot be reached while ${doing} (${detail.replaceAll(/:\/\/[^@\s]*@/g, "://***@")}). ` +
      `Check that the server runs and accepts connections from this host (database.url or TASKHOST_DATABASE_URL); taskhost retries.`,
    { cause: error },
  ) as TaskhostError;
}

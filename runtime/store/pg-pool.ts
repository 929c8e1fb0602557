/**
 * The PostgreSQL ledger's connection pool: int8 as numbers, the `taskhost`
 * schema on the search path, an idle connection's failure reported rather than
 * fatal, and the schema created or migrated before the first query. With
 * `waitForDatabase` (a host starting) an unreachable server is retried with
 * back-off, each try reported without the password.
 */
import pg from "pg";
import { ERR_DB_UNREACHABLE, isCode, messageOf } from "../errors.ts";
import { explainPgError, resolvePgLedgerOptions, type PgLedgerOptions, type ResolvedPgLedgerOptions } from "./pg-options.ts";
import { migratePg, PG_SCHEMA } from "./pg-schema.ts";

/** int8 (epoch ms, run ids) as numbers: every value the ledger stores is below 2^53. */
const TYPES = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === 20) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as "text");
  },
} as pg.CustomTypesConfig;

/** A pool on a database whose schema is current. */
export async function connectPgPool(options: PgLedgerOptions): Promise<{ pool: pg.Pool; options: ResolvedPgLedgerOptions }> {
  const resolved = resolvePgLedgerOptions(options);
  // connectTimeoutMs bounds making a connection, on the client. Not on the pool: pg-pool's
  // connectionTimeoutMillis also bounds the wait for a connection the pool's other users hold,
  // so a busy ledger (a burst of alerts, a slow machine) failed as "cannot be reached".
  // query_timeout and TCP keep-alive: a silent network fails a query in queryTimeoutMs, not in the kernel's ~15 minutes.
  const { connectTimeoutMs, queryTimeoutMs } = resolved;
  class TimedClient extends pg.Client {
    constructor(config?: pg.ClientConfig) {
      super({ ...config, connectionTimeoutMillis: connectTimeoutMs, query_timeout: queryTimeoutMs, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
    }
  }
  const pool = new pg.Pool({
    Client: TimedClient,
    connectionString: resolved.url,
    max: resolved.poolSize,
    idleTimeoutMillis: 30_000,
    application_name: "taskhost",
    options: `-c search_path=${PG_SCHEMA}`,
    types: TYPES,
  });
  // A connection that breaks while idle (server restart) must not crash the host: the pool drops it.
  pool.on("error", (error) => {
    const explained = explainPgError(error, resolved.where, "idle");
    resolved.onWarning(messageOf(explained), codeOf(explained));
  });
  for (let attempt = 1; ; attempt++) {
    try {
      await withClient(pool, (client) => migratePg(client, resolved.where));
      break;
    } catch (raw) {
      const error = explainPgError(raw, resolved.where, "opening the ledger");
      if (!resolved.waitForDatabase || !isCode(error, "ERR_DB_UNREACHABLE") || resolved.signal?.aborted) {
        await pool.end().catch(() => undefined);
        throw error;
      }
      const delay = Math.min(30_000, 1000 * 2 ** Math.min(attempt - 1, 5));
      // The code goes with the message: the host logs it and reports the wait in `status`.
      resolved.onWarning(`${messageOf(error)} Next try in ${delay / 1000} s.`, ERR_DB_UNREACHABLE);
      await sleep(delay, resolved.signal);
      // Stopped while waiting (`taskhost stop`): give up now rather than after one more try,
      // which against a silent server could take connectTimeoutMs.
      if (resolved.signal?.aborted) {
        await pool.end().catch(() => undefined);
        throw error;
      }
    }
  }
  return { pool, options: resolved };
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("ERR_") ? code : undefined;
}

/** Resolves after `ms`, or at once when `signal` aborts (the next check then gives up). */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Runs `work` on one connection of the pool (a transaction). A connection that breaks while
 * checked out emits 'error' outside any query: without a listener that would crash the host.
 * A broken connection is destroyed on release instead of going back to the pool.
 */
export async function withClient<T>(pool: Pick<pg.Pool, "connect">, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken = error;
  };
  client.on("error", onError);
  try {
    return await work(client);
  } catch (error) {
    // A connection that broke, or whose query timed out (its answer may still come), is not reused.
    broken ??= error instanceof Error && /terminat|ECONNRESET|EPIPE|Query read timeout/i.test(error.message) ? error : undefined;
    throw error;
  } finally {
    client.off("error", onError);
    client.release(broken);
  }
}

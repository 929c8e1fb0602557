/**
 * A PostgreSQL ledger reached through a TCP proxy (tcp-proxy.ts), on a new
 * database of the test cluster: the tests cut or stall the proxy to take the
 * database away from this ledger alone. Call inside a describe; everything
 * opened is closed after it.
 */
import { afterAll } from "vitest";
import { openPgLedger, type PgLedger } from "../../runtime/store/pg-ledger.ts";
import type { PgLedgerOptions } from "../../runtime/store/pg-options.ts";
import { usePostgres } from "./postgres.ts";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.ts";

export function useProxiedPgLedger(): (options?: Omit<PgLedgerOptions, "url">) => Promise<{ ledger: PgLedger; proxy: TcpProxy }> {
  const pgServer = usePostgres();
  const opened: Array<{ ledger: PgLedger; proxy: TcpProxy }> = [];
  afterAll(async () => {
    for (const { ledger, proxy } of opened) {
      await proxy.restore();
      await ledger.close();
      await proxy.close();
    }
  });
  return async (options = {}) => {
    const url = await pgServer().createDatabase();
    const proxy = await startTcpProxy(Number(new URL(url).port));
    const ledger = await openPgLedger({ onWarning: () => undefined, ...options, url: proxy.via(url) });
    opened.push({ ledger, proxy });
    return { ledger, proxy };
  };
}

/**
 * A network that drops packets (a firewall, a VPN, a failover) fails nothing
 * by itself: without a query timeout a query waits for the kernel's ~15
 * minutes and the host never learns its database is away. The ledger's
 * queries fail as ERR_DB_UNREACHABLE within queryTimeoutMs, and work again
 * once the network does (found in review).
 */
import { describe, expect, it } from "vitest";
import { isCode } from "../runtime/errors.ts";
import { skipPostgres } from "./support/postgres.ts";
import { useProxiedPgLedger } from "./support/proxied-ledger.ts";
import { waitFor } from "./support/wait-for.ts";

describe.skipIf(skipPostgres)("the PostgreSQL ledger behind a network that drops packets", () => {
  const proxiedLedger = useProxiedPgLedger();

  it("fails a query as unreachable within its timeout, and answers again once the network does", async () => {
    const { ledger, proxy } = await proxiedLedger({ queryTimeoutMs: 1500, connectTimeoutMs: 1500 });
    await ledger.registerHost({ id: "h", hostname: "box", pid: 1, startedAt: Date.now() });
    proxy.stall();
    const startedAt = Date.now();
    const error = await ledger.beat("h", 0).then(() => null, (e: unknown) => e);
    expect(isCode(error, "ERR_DB_UNREACHABLE"), String(error)).toBe(true);
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    await proxy.restore();
    await waitFor(async () => (await ledger.beat("h", 0).then(() => true, () => false)) || null, { timeoutMs: 10_000, what: "a beat through once the network works" });
    expect((await ledger.listHosts()).map((h) => h.id)).toEqual(["h"]);
  });
});

/**
 * A real PostgreSQL for tests: scripts/pg-start.sh makes a throw-away cluster on
 * a free loopback port; each test takes its own empty database from it.
 *
 *   const pg = usePostgres();              // in a describe: starts before, stops after
 *   const url = await pg().createDatabase(); // a fresh, empty database
 *
 * Without PostgreSQL's server programs the tests skip on a developer machine;
 * in CI (`.ci/run` installs the postgresql package) they must run.
 */
import { afterAll, beforeAll } from "vitest";
import { startPostgres, type TestPostgres } from "./pg-cluster.ts";

export { skipPostgres, type TestPostgres } from "./pg-cluster.ts";

/** Starts one cluster for the enclosing describe (or file) and stops it after. */
export function usePostgres(): () => TestPostgres {
  let instance: TestPostgres | undefined;
  beforeAll(async () => {
    instance = await startPostgres();
  }, 90_000);
  afterAll(async () => {
    await instance?.stop();
  }, 60_000);
  return () => {
    if (!instance) throw new Error("usePostgres(): the cluster is not started (call it inside the describe, use it in a test)");
    return instance;
  };
}

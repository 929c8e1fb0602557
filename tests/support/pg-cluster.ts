/**
 * A throw-away PostgreSQL cluster (scripts/pg-start.sh) for tests and the bench:
 * a free loopback port, a random password, an empty database per caller.
 * No vitest here, so scripts can use it too (tests use ./postgres.ts).
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { REPO } from "./temp-project.ts";

const run = promisify(execFile);

function hasServer(): boolean {
  const onPath = (process.env.PATH ?? "").split(path.delimiter).some((dir) => existsSync(path.join(dir, "pg_ctl")));
  if (onPath) return true;
  try {
    return readdirSync("/usr/lib/postgresql").some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/pg_ctl`));
  } catch {
    return false;
  }
}

/** True when these tests cannot run here (no server, not CI): describe.skipIf(skipPostgres). */
export const skipPostgres = !hasServer() && !process.env.CI;

export interface TestPostgres {
  /** postgres://taskhost:<password>@127.0.0.1:<port>/taskhost — the cluster's first database. */
  readonly url: string;
  readonly dir: string;
  /** A new empty database on the cluster; returns its URL. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

let counter = 0;

/** `fast` (the default, for tests) turns fsync off: a throw-away cluster need not survive a power cut. The bench keeps it on. */
export async function startPostgres({ fast = true }: { fast?: boolean } = {}): Promise<TestPostgres> {
  const { stdout } = await run("bash", [path.join(REPO, "scripts", "pg-start.sh")], {
    env: { ...process.env, PG_FAST: fast ? "1" : "0" },
    timeout: 60_000,
  });
  const env = Object.fromEntries(
    stdout
      .trim()
      .split("\n")
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
  const url = env.TASKHOST_DATABASE_URL!;
  const dir = env.TASKHOST_PG_DIR!;
  let stopped: Promise<void> | undefined;
  // Safety net: a test process that ends without stop() (a failed hook, a forgotten dispose)
  // must not leave a server running. 'exit' handlers may only run synchronous work.
  const onExit = () => {
    if (!stopped) spawnSync("bash", [path.join(REPO, "scripts", "pg-stop.sh"), dir], { stdio: "ignore", timeout: 30_000 });
  };
  process.once("exit", onExit);
  return {
    url,
    dir,
    async createDatabase(name = `t${process.pid}_${++counter}`) {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE "${name}"`);
      } finally {
        await admin.end();
      }
      const u = new URL(url);
      u.pathname = `/${name}`;
      return u.toString();
    },
    stop() {
      process.off("exit", onExit);
      stopped ??= run("bash", [path.join(REPO, "scripts", "pg-stop.sh"), dir], { timeout: 60_000 }).then(() => undefined);
      return stopped;
    },
  };
}


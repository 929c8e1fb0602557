/**
 * Compatibility of the default level: a task that uses dayjs, zod and lodash
 * from its own `dependencies` (installed by npm from the local test registry),
 * fetch to a local HTTP server, node:fs/promises errors, sql.js and
 * executeCommand through taskhost/helpers, a helper logging through
 * currentRun(), and ctx.state, prints exactly the same under `context` and
 * `task` as under `worker`.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { IsolateKit, taskSource } from "./support/isolate-kit.ts";
import { startLocalRegistry, type LocalRegistry } from "./support/local-registry.ts";
import { DependencyInstaller } from "../runtime/deps/install-dependencies.ts";
import { dependencyBundleDir, dependencyExternals } from "../runtime/deps/dependency-externals.ts";
import type { Isolation } from "../runtime/scheduler/run-launcher.ts";

const SPECS = ["dayjs@^1.11", "lodash@^4.17", "zod@^4"];

const PRELUDE = `
import dayjs from "dayjs";
import utc from "dayjs/plugin/utc.js";
import _ from "lodash";
import { z } from "zod";
import { readFile } from "node:fs/promises";
import { executeCommand, loadSqlJs, queryRows, log } from "taskhost/helpers";
dayjs.extend(utc);
`;

const BODY = `
  const out: Record<string, unknown> = {};
  out.dayjs = dayjs.utc("2026-03-01T10:00:00Z").add(1, "day").format("YYYY-MM-DD HH:mm");
  out.lodash = _.chunk([1, 2, 3, 4, 5], 2);
  out.lodashMixin = typeof (_ as any).shout;
  (_ as any).mixin({ shout: (s: string) => s.toUpperCase() + "!" });
  const Shape = z.object({ name: z.string(), n: z.number().int() });
  out.zodOk = Shape.parse({ name: "a", n: 1 });
  const bad = Shape.safeParse({ name: 1, n: 1.5 });
  out.zodIssues = bad.success ? [] : bad.error.issues.map((i) => i.path.join("."));
  try { Shape.parse({}); } catch (e) { out.zodThrows = e instanceof Error && e instanceof z.ZodError; }
  const res = await fetch(process.env.COMPAT_URL + "/hello");
  out.fetch = [res.status, await res.json(), res.headers.get("x-from")];
  try { await readFile("/no/such/file"); } catch (e: any) { out.fsError = [e instanceof Error, e.code, typeof e.message]; }
  const SQL = await loadSqlJs();
  const db = new SQL.Database();
  db.run("CREATE TABLE t (a INTEGER, b TEXT); INSERT INTO t VALUES (1, 'x'), (2, 'y');");
  out.sql = queryRows(db, "SELECT sum(a) AS s, group_concat(b) AS g FROM t");
  db.close();
  const cmd = await executeCommand("sh", { args: ["-c", "echo from-a-command; echo oops >&2; exit 3"], expectedExitCodes: [3] });
  out.command = [cmd.success, cmd.exitCode, cmd.stdout.trim(), cmd.stderr.trim()];
  out.stateBefore = ctx.state.get("visits") ?? 0;
  ctx.state.set("visits", (ctx.state.get<number>("visits") ?? 0) + 1);
  out.date = ctx.scheduledFor instanceof Date;
  out.secret = process.env.TASKHOST_DASHBOARD_TOKEN ?? null;
  out.array = Array.isArray(out.lodash) && out.lodash instanceof Array;
  log.info("helper log line");
  console.log("printed line");
  ctx.log.info("RESULT " + JSON.stringify(out));
`;

let kit: IsolateKit;
let registry: LocalRegistry;
let server: http.Server;
let npmHome: string;
let bundle: string;

beforeAll(async () => {
  kit = await IsolateKit.create();
  registry = await startLocalRegistry();
  npmHome = await mkdtemp(path.join(os.tmpdir(), "th-compat-npm-"));
  await writeFile(path.join(npmHome, "npmrc"), "");
  const deps = new DependencyInstaller({
    registry: registry.url,
    installTimeoutSec: 120,
    dataDir: path.join(kit.root, "data"),
    env: { ...process.env, npm_config_cache: path.join(npmHome, "cache"), npm_config_userconfig: path.join(npmHome, "npmrc") },
  });
  const installed = await deps.ensure(SPECS, { allowScripts: false });
  bundle = await kit.bundle("compat", taskSource(BODY, PRELUDE), { external: dependencyExternals(SPECS), outDir: dependencyBundleDir(installed.dir) });
  server = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "application/json", "x-from": "local" });
    res.end(JSON.stringify({ path: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  // taskhost's own secrets never reach task code (issue 10.9), at any level.
  process.env.TASKHOST_DASHBOARD_TOKEN = "not-for-tasks";
  process.env.COMPAT_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 240_000);

afterAll(async () => {
  delete process.env.COMPAT_URL;
  delete process.env.TASKHOST_DASHBOARD_TOKEN;
  server?.close();
  await registry?.close();
  await kit?.dispose();
  if (npmHome) await rm(npmHome, { recursive: true, force: true });
});

it("behaves under context and task exactly as under worker", async () => {
  const launcher = kit.launcher();
  try {
    const results: Record<string, { lines: string[]; state: Record<string, unknown> }> = {};
    for (const isolation of ["worker", "context", "task"] as Isolation[]) {
      // Twice each: a second run in a warm worker must not see the first's plugin or mixin.
      for (const round of [1, 2]) {
        const run = kit.run(launcher, bundle, { task: "compat", isolation, state: { visits: 4 } });
        const outcome = await run.outcome;
        expect(outcome.status, `${isolation} #${round}: ${outcome.error}`).toBe("success");
        // Printed lines and ctx.log lines travel on two channels: their order between each other is not kept, under any level.
        results[`${isolation}#${round}`] = { lines: run.lines.map((l) => `${l.level} ${l.line}`).sort(), state: run.state };
      }
    }
    const reference = results["worker#1"]!;
    const result = JSON.parse(reference.lines.find((l) => l.includes("RESULT "))!.split("RESULT ")[1]!) as Record<string, unknown>;
    expect(result).toMatchObject({
      dayjs: "2026-03-02 10:00",
      lodash: [[1, 2], [3, 4], [5]],
      lodashMixin: "undefined",
      zodOk: { name: "a", n: 1 },
      zodIssues: ["name", "n"],
      zodThrows: true,
      fetch: [200, { path: "/hello" }, "local"],
      fsError: [true, "ENOENT", "string"],
      sql: [{ s: 3, g: "x,y" }],
      command: [true, 3, "from-a-command", "oops"],
      stateBefore: 4,
      date: true,
      array: true,
      secret: null,
    });
    expect(reference.lines).toContain("info printed line");
    expect(reference.lines.some((l) => l.includes("helper log line"))).toBe(true);
    expect(reference.state).toEqual({ visits: 5 });
    // Under task the module is kept: the second run sees the mixin the first added (the level's documented point).
    const kept = results["task#2"]!;
    expect(kept.lines.some((l) => l.includes('"lodashMixin":"function"'))).toBe(true);
    kept.lines = kept.lines.map((l) => l.replace('"lodashMixin":"function"', '"lodashMixin":"undefined"'));
    for (const [key, got] of Object.entries(results)) {
      expect(got.lines, key).toEqual(reference.lines);
      expect(got.state, key).toEqual(reference.state);
    }
  } finally {
    await launcher.close();
  }
}, 120_000);

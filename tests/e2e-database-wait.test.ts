import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StatusJson } from "../runtime/host/report-shapes.ts";
import { readHostLog } from "./support/host-log.ts";
import { TempProject } from "./support/temp-project.ts";

/** A local port nothing listens on: connecting is refused at once, as with a PostgreSQL that is down. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A host whose database.url cannot be reached keeps retrying (README, "Several hosts on
 * PostgreSQL"). Meanwhile it must not look absent: `status` used to wait 15 s and fail, and
 * `stop` said "no host is running" and left it alive.
 */
describe("a host waiting for an unreachable PostgreSQL ledger", () => {
  const PASSWORD = "s3cret-pw";
  let project: TempProject;
  beforeEach(async () => {
    const url = `postgres://taskhost:${PASSWORD}@127.0.0.1:${await closedPort()}/taskhost`;
    project = await TempProject.create({ database: { url } });
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("answers status saying so, and stops on `taskhost stop`", async () => {
    const host = await project.start();

    const t0 = Date.now();
    const json = await project.cli(["status", "--json"]);
    expect(json.stderr).toBe("");
    expect(json.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    const status = JSON.parse(json.stdout) as StatusJson;
    expect(status.host).toMatchObject({ running: true, pid: host.pid, restarts: 0, starting: true });
    expect(status.host.database).toMatchObject({ state: "unreachable", code: "ERR_DB_UNREACHABLE" });
    expect(status.host.database!.url).toMatch(/^postgres:\/\/taskhost:\*\*\*@127\.0\.0\.1:\d+\/taskhost$/);
    expect(status.host.database!.error).toContain("cannot be reached");
    expect(status.tasks).toEqual([]);
    expect(status.hosts).toEqual([]);

    const text = await project.cli(["status"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("WAITING FOR ITS DATABASE (ERR_DB_UNREACHABLE)");
    for (const out of [json.stdout, text.stdout, host.output()]) expect(out).not.toContain(PASSWORD);

    // Other requests are refused at once with a reason, not after a 15 s wait.
    const history = await project.cli(["history", "anything"]);
    expect(history.code).not.toBe(0);
    expect(history.stderr).toContain("waiting for its database");

    const stop = await project.cli(["stop"]);
    expect(stop.stderr).toBe("");
    expect(stop.stdout).toContain(`stopping the host (pid ${host.pid})`);
    expect(stop.stdout).toMatch(/stopped in \d+ ms/);
    expect(stop.code).toBe(0);
    expect(await host.exited).toBe(0);

    const log = await readHostLog(project.root);
    const warnings = log.split("\n").filter((line) => line.includes('"store.warning"'));
    expect(warnings.length).toBeGreaterThan(0);
    for (const line of warnings) expect(JSON.parse(line)).toMatchObject({ code: "ERR_DB_UNREACHABLE" });
    expect(log).toContain("host stopped");
    expect(log).not.toContain("host.start.failed");
    expect(log).not.toContain(PASSWORD);
  });

  // A host takes its stop signals from its first line: before, one that came while it started
  // (here, while it waits for its database) killed it by the signal, mid-start.
  for (const [how, args] of [
    ["supervised", []],
    ["--no-supervisor", ["--no-supervisor"]],
  ] as const) {
    it(`${how}: a SIGTERM (a service manager's stop) while it waits stops it with grace, saying why`, async () => {
      const host = await project.start([...args]);
      expect(await host.stop("SIGTERM")).toBe(0);
      const log = await readHostLog(project.root);
      const farewell = log.split("\n").find((line) => line.includes('"host.stop"'));
      expect(farewell, log).toBeDefined();
      expect(JSON.parse(farewell!)).toMatchObject({ reason: "received SIGTERM", restart: false, msg: "host stopped" });
      expect(host.output()).not.toContain("while stopping");
    });
  }

  it("`start --daemon` says the host it started waits for its database (started, but nothing runs yet)", async () => {
    const started = await project.cli(["start", "--daemon"], 60_000);
    try {
      expect(started.code).toBe(0);
      expect(started.stdout).toMatch(/taskhost started in the background \(pid \d+\)/);
      expect(started.stderr).toMatch(/it is waiting for its database: postgres:\/\/taskhost:\*\*\*@127\.0\.0\.1:\d+\/taskhost cannot be reached \(ERR_DB_UNREACHABLE\); it retries, and no task runs until it answers/);
      expect(started.stderr).not.toContain(PASSWORD);
    } finally {
      expect((await project.cli(["stop"])).code).toBe(0);
    }
  });

  it("`taskhost stop` signals a live taskhost that holds the lock but has no socket (starting, restarting)", async () => {
    // A stand-in for a host before its socket opens: a node process the PID file names.
    const child = spawn(process.execPath, ["-e", "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000); console.log('ready')"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    // Its handler in place before the stop: a SIGTERM sooner would kill it outright (exit code null; seen once under CI load).
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    try {
      await mkdir(path.join(project.root, "data"), { recursive: true, mode: 0o700 });
      await writeFile(path.join(project.root, "data", "taskhost.pid"), `${child.pid}\n`);
      const stop = await project.cli(["stop"]);
      expect(stop.stdout).toContain(`stopping the host (pid ${child.pid}), which is not answering on its socket: sent it SIGTERM`);
      expect(stop.code).toBe(0);
      expect(await exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  });
});

import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { finished, history, status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";
import { isProcessAlive } from "../runtime/util/is-process-alive.ts";

interface Overdue {
  scheduleId: string;
  taskId: string;
  nextRun: string;
  overdueSec: number;
  catchUp: string | null;
}

describe("operations commands against a running host and a stopped one", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create({ scheduler: { shutdown_grace: 1 } });
    await project.writeTask("fast.ts", taskSource({ schedule: "every(1).seconds", body: "" }));
    await project.writeTask(
      "slow.ts",
      taskSource({ schedule: "every(2).seconds", body: "await new Promise((r) => setTimeout(r, 30_000));", frontmatter: { timeout: 60, catch_up: "skip" } }),
    );
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("restart: dry-run, --force interrupts runs, the supervisor PID stays; bad flags and no host fail clearly", async () => {
    const host = await project.start();
    await waitFor(async () => (await history(project, "slow")).some((r) => r.status === "running" && r.startedAt), { what: "a slow run in flight" });
    const firstHost = await host.hostPid();

    const dry = await project.cli(["restart", "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/dry run: would restart the host \(pid \d+/);
    expect(await host.hostPid()).toBe(firstHost);

    const conflict = await project.cli(["restart", "--force", "--timeout", "5"]);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain("exclude each other");

    const forced = await project.cli(["restart", "--force"]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/restarted in \d+ ms: host process \d+ -> \d+/);
    expect(await host.hostPid()).not.toBe(firstHost);
    // A restart asked for is no crash.
    expect((await status(project)).host).toMatchObject({ pid: host.pid, restarts: 1, lastCrash: null });
    const cut = await waitFor(async () => finished(await history(project, "slow")).find((r) => r.status === "interrupted"), { what: "the interrupted run" });
    expect(cut.error).toContain("shutting down");

    expect(await host.stop()).toBe(0);
    const none = await project.cli(["restart"]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain("no host is running");
    const started = await project.cli(["restart", "--daemon"]);
    expect(started.code).toBe(0);
    expect(started.stdout).toContain("started in the background");
    expect((await status(project)).host.running).toBe(true);
    // A detached host: stop it through the socket-free way users have, its PID file.
    const pid = (await status(project)).host.pid!;
    process.kill(pid, "SIGTERM");
    await waitFor(async () => !(await status(project)).host.running, { what: "the daemon to stop" });
    // A detached supervisor keeps a dated account of its hosts in logs/supervisor.log.
    const supervisorLog = await waitFor(async () => {
      const text = await readFile(path.join(project.root, "logs", "supervisor.log"), "utf8");
      return text.includes("exits") ? text : null;
    }, { what: "the supervisor's last line" });
    expect(supervisorLog).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+ taskhost: supervisor ${pid} started host \\d+$`, "m"));
    expect(supervisorLog).toContain(`the host stopped; supervisor ${pid} exits`);
  });

  it("a host that crashes is started again, and status says how it ended and what it last wrote on stderr", async () => {
    await project.writeTask("tick.ts", taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("tick");' }));
    const host = await project.start();
    const crashed = await host.hostPid();
    // Something on the host's stderr before it dies (Node's inspector announces itself there), then a kill no handler sees.
    process.kill(crashed, "SIGUSR1");
    await waitFor(() => /Debugger listening|inspector/i.test(host.output()), { what: "the inspector's line on stderr" });
    process.kill(crashed, "SIGKILL");
    const report = await waitFor(async () => {
      const now = await status(project).catch(() => null);
      return now?.host.running && now.host.restarts === 1 ? now : null;
    }, { timeoutMs: 20_000, what: "the supervisor to start a new host" });
    expect(await host.hostPid()).not.toBe(crashed);
    expect(report.host.lastCrash?.error).toMatch(/^the host was killed by SIGKILL after \d+ s; the last it wrote on stderr:\n/);
    expect(report.host.lastCrash?.error).toMatch(/Debugger listening|inspector/i);
    expect(Date.parse(report.host.lastCrash!.at)).toBeGreaterThan(Date.now() - 60_000);
    const text = await project.cli(["status"]);
    expect(text.stdout).toMatch(/last crash: .*restarted by the supervisor/);
    expect(text.stdout).toContain("killed by SIGKILL");
  });

  it("a host killed while it stops is not reported as a clean stop", async () => {
    await project.writeTask("slow.ts", taskSource({ schedule: "every(1).seconds", body: "await new Promise((r) => setTimeout(r, 30_000));" }));
    const host = await project.start();
    const hostPid = await host.hostPid();
    await waitFor(async () => (await history(project, "slow")).some((r) => r.status === "running"), { what: "a run in flight" });
    // A graceful stop gives the run its grace; the host dies meanwhile.
    process.kill(host.pid, "SIGTERM");
    await waitFor(() => host.output().includes("stopping"), { what: "the stop to begin" });
    process.kill(hostPid, "SIGKILL");
    expect(await host.exited).toBe(1);
    expect(host.output()).toContain("taskhost: the host was killed by SIGKILL while stopping");
  });

  it("Ctrl-C (SIGINT) to the supervisor: the host stops with grace and says it received SIGINT", async () => {
    await project.writeTask("slow.ts", taskSource({ schedule: "every(1).hours", body: "" }));
    const host = await project.start();
    expect(await host.stop("SIGINT")).toBe(0);
    const stopping = (await readFile(path.join(project.root, "logs", "scheduler.log"), "utf8")).split("\n").find((line) => line.includes('"event":"host.stopping"'));
    expect(JSON.parse(stopping!)).toMatchObject({ reason: "received SIGINT", restart: false });
  });

  it("stop: a detached host stops, giving its runs --timeout seconds, and returns once it is gone; with no host it has nothing to do", async () => {
    const started = await project.cli(["start", "--daemon"]);
    expect(started.code, started.stderr).toBe(0);
    await waitFor(async () => (await history(project, "slow")).some((r) => r.status === "running" && r.startedAt), { what: "a slow run in flight" });
    const pid = (await status(project)).host.pid!;

    const conflict = await project.cli(["stop", "--force", "--timeout", "5"]);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain("exclude each other");

    const t0 = Date.now();
    const stopped = await project.cli(["stop", "--timeout", "4"], 60_000);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout).toMatch(new RegExp(`stopping the host \\(pid ${pid}\\); [1-9]\\d* run\\(s\\) in flight get 4 s\nstopped in \\d+ ms`));
    // The supervisor is gone when the command returns; the slow run got its 4 s (not shutdown_grace's 1, not its 30).
    expect(isProcessAlive(pid)).toBe(false); // ended (a zombie until init reaps it counts as ended)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3_500);
    expect(Date.now() - t0).toBeLessThan(25_000);
    expect((await status(project)).host.running).toBe(false);
    const cut = finished(await history(project, "slow")).find((r) => r.status === "interrupted");
    expect(cut?.error).toContain("shutting down");

    const again = await project.cli(["stop"]);
    expect(again).toMatchObject({ code: 0, stdout: "no host is running\n" });
  });

  it("check-overdue and reset-schedules with every flag, offline and through the host", async () => {
    let host = await project.start();
    await waitFor(async () => finished(await history(project, "fast")).length > 0, { what: "a first run" });
    const online = await project.json<Overdue[]>(["check-overdue"]);
    expect(online).toEqual([]);
    const dryOnline = await project.cli(["reset-schedules", "--dry-run", "--task", "fast"]);
    expect(dryOnline.code).toBe(0);
    expect(dryOnline.stdout).toMatch(/^(would reset )?fast#start: next run /m);
    expect(dryOnline.stdout).toContain("through the running host");
    expect(dryOnline.stdout).not.toContain("slow#start");
    const unknown = await project.cli(["reset-schedules", "--task", "nope"]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('no task "nope"');
    await host.stop();

    // Stopped across boundaries: both schedules are overdue in the ledger.
    const stoppedAt = Date.now();
    await waitFor(() => Date.now() > stoppedAt + 2500, { what: "boundaries to pass" });
    const overdue = await project.json<Overdue[]>(["check-overdue"]);
    expect(overdue.map((o) => o.scheduleId).sort()).toEqual(["fast#start", "slow#start"]);
    expect(overdue.find((o) => o.taskId === "slow")!.catchUp).toBe("skip");
    expect(overdue.every((o) => o.overdueSec >= 1)).toBe(true);

    const conflict = await project.cli(["reset-schedules", "--all", "--task", "fast"]);
    expect(conflict.code).not.toBe(0);
    const dry = await project.cli(["reset-schedules", "--dry-run", "--future-only"]);
    expect(dry.stdout).toContain("dry run: nothing changed");
    expect((await project.json<Overdue[]>(["check-overdue"])).length).toBe(2);

    // (fast ticks every second, so it may be overdue again by the time we look: compare instants.)
    const resetAt = Date.now();
    const one = await project.cli(["reset-schedules", "--future-only", "--task", "fast"]);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain("in the ledger; no host is running");
    const afterOne = await project.json<Overdue[]>(["check-overdue"]);
    expect(Date.parse(afterOne.find((o) => o.taskId === "slow")!.nextRun)).toBeLessThan(resetAt);
    expect(afterOne.filter((o) => o.taskId === "fast" && Date.parse(o.nextRun) < resetAt)).toEqual([]);
    const resetAllAt = Date.now();
    const all = await project.cli(["reset-schedules", "--all"]);
    // slow is overdue; fast was reset moments ago, and is overdue again only if a second boundary passed since.
    expect(all.stdout).toMatch(/^reset slow#start: /m);
    expect(all.stdout).toMatch(/^(2 schedule\(s\) reset|1 schedule\(s\) reset, 1 already on time)/m);
    expect((await project.json<Overdue[]>(["check-overdue"])).filter((o) => Date.parse(o.nextRun) < resetAllAt)).toEqual([]);

    // What was reset away is not caught up on the next start (only what passed after the reset may be).
    host = await project.start();
    const at = Date.now();
    await waitFor(async () => finished(await history(project, "fast")).some((r) => Date.parse(r.startedAt!) > at), { what: "a run after the start" });
    const caughtUp = (await history(project, "fast")).filter((r) => r.trigger === "catch-up");
    expect(caughtUp.filter((r) => Date.parse(r.scheduledFor!) < resetAllAt)).toEqual([]);
    await host.stop();
  });
});

import { spawnSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BIN, REPO, TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { finished, history, status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";
import { callHost } from "../runtime/cli/control-client.ts";
import { hostFiles } from "../runtime/host/host-files.ts";
import type { StatusJson } from "../runtime/host/report-shapes.ts";

// Issue 11.14 (CLI wording), 11.5 (a second start --daemon), 11.6 (times in the schedule's zone).

describe("CLI wording", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create({ scheduler: { timezone: "UTC" } });
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("run of an example task the config leaves out says how to include the examples", async () => {
    await project.writeTask("example_greet.ts", taskSource({ schedule: "every(1).hours", body: "" }));
    await project.writeTask("tick.ts", taskSource({ schedule: "every(1).hours", body: "" }));
    const host = await project.start();
    const run = await project.cli(["run", "example_greet"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no task "example_greet" (see `taskhost status` for the task ids; files named example_* load only with `tasks.include_example_tasks: true` in the config file)');
    // Any other unknown id: no such hint.
    expect((await project.cli(["run", "nosuch"])).stderr).not.toContain("include_example_tasks");
    expect(await host.stop()).toBe(0);
  });

  it("--version, 'did you mean' for an unknown command, and status --help in plain words", async () => {
    const { version } = JSON.parse(await readFile(path.join(REPO, "package.json"), "utf8")) as { version: string };
    const v = await project.cli(["--version"]);
    expect(v).toMatchObject({ code: 0, stdout: `${version}\n` });
    const typo = await project.cli(["stauts"]);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toContain("Did you mean status?");
    expect(typo.stderr).not.toContain("Commands:");
    // A --config path that does not exist is an error, not a silent host on every default.
    for (const args of [["--config", "config/nope.yaml", "status"], ["start", "--config", "config/nope.yaml"]]) {
      const missing = await project.cli(args);
      expect(missing.code, args.join(" ")).toBe(1);
      expect(missing.stderr).toContain("--config config/nope.yaml: no such file");
    }
    // With no host, status still says what the file has that the next host will ignore.
    await project.writeConfig({ scheduler: { timezone: "UTC", shutdown_grce: 5 } });
    const offline = await project.json<StatusJson>(["status"]);
    expect(offline.host.configWarnings).toEqual([expect.stringMatching(/^config\/config\.yaml:\d+: unknown config key scheduler\.shutdown_grce is ignored \(did you mean shutdown_grace\?\)/)]);
    expect((await project.cli(["status"])).stdout).toContain("config warnings:");

    // Piped into `head`, which goes away: no EPIPE stack, a quiet exit 0.
    await mkdir(path.join(project.root, "logs"), { recursive: true });
    await writeFile(path.join(project.root, "logs", "tasks.log"), "2026-12-02T00:00:00.000Z INFO [x] a line\n".repeat(100_000));
    const piped = spawnSync("bash", ["-o", "pipefail", "-c", `"${process.execPath}" "${BIN}" logs -n 100000 | head -1`], { cwd: project.root, encoding: "utf8" });
    expect(piped.stderr).toBe("");
    expect(piped.status).toBe(0);
    const help = await project.cli(["status", "--help"]);
    expect(help.stdout).not.toContain("contract");
    expect(help.stdout).toContain("one JSON object");
  });

  it("with a host: -n 0 and --limit 0 work, resume of a running task, reset of an on-time schedule, a second --daemon, zones named", async () => {
    await project.writeTask("hello.ts", taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("hi");' }));
    await project.writeTask(
      "tokyo.ts",
      taskSource({ schedule: 'every().day.at("09:30")', body: "", frontmatter: { timezone: "Asia/Tokyo" } }),
    );
    const host = await project.start();
    await waitFor(async () => finished(await history(project, "hello")).length > 0, { what: "a first run" });

    const logs = await project.cli(["logs", "-n", "0"]);
    expect(logs).toMatchObject({ code: 0, stdout: "" });
    const none = await project.cli(["history", "hello", "--limit", "0", "--json"]);
    expect(none.code, none.stderr).toBe(0);
    expect(JSON.parse(none.stdout)).toEqual([]);
    expect((await project.cli(["history", "nope", "--limit", "0"])).code).not.toBe(0);

    const resume = await project.cli(["resume", "hello"]);
    expect(resume.stdout).toContain("hello is not paused; nothing changed");
    expect(resume.stdout).not.toContain("already resumed");

    const reset = await project.cli(["reset-schedules", "--task", "tokyo"]);
    expect(reset.code).toBe(0);
    expect(reset.stdout).toContain("already on time, unchanged");
    expect(reset.stdout).toContain("0 schedule(s) reset, 1 already on time");
    expect(reset.stdout).not.toContain("1 schedule(s) reset");

    // 11.6: a Tokyo schedule's next run is 09:30 on Tokyo's clock, the zone named.
    expect(reset.stdout).toMatch(/tokyo#start: next run \d{4}-\d\d-\d\d 09:30:00 Asia\/Tokyo/);
    const text = await project.cli(["status"]);
    expect(text.stdout).toMatch(/every day at 09:30 +\d{4}-\d\d-\d\d 09:30:00 Asia\/Tokyo/);
    const tokyo = (await status(project)).tasks.find((t) => t.id === "tokyo")!;
    expect(tokyo.schedules[0]!.zone).toBe("Asia/Tokyo");

    // 11.5: a second start --daemon says a host runs, and does not claim to have started one.
    const second = await project.cli(["start", "--daemon"], 30_000);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain(`already running for this project (pid ${host.pid})`);
    expect(second.stdout).not.toContain("started in the background");

    // check-overdue names the zone too (offline, once the every-second schedule is overdue).
    expect(await host.stop()).toBe(0);
    const stoppedAt = Date.now();
    await waitFor(() => Date.now() > stoppedAt + 2000, { what: "hello to fall due" });
    const overdue = await project.cli(["check-overdue"]);
    expect(overdue.stdout).toMatch(/hello#start: due \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
  });

  it("logs <task> picks its lines by the [title] where it stands, and says when tasks share a title", async () => {
    const logs = (body: string, title?: string) => taskSource({ schedule: 'every().day.at("04:00")', body, frontmatter: title ? { title } : undefined });
    await project.writeTask("a/x.ts", logs('ctx.log.info("from a");'));
    await project.writeTask("b/x.ts", logs('ctx.log.info("from b");'));
    await project.writeTask("c.ts", logs('ctx.log.info("[x] not a line of x");', "other"));
    for (const task of ["a/x", "b/x", "c"]) expect((await project.cli(["run", task])).code).toBe(0);

    const a = await project.cli(["logs", "a/x"]);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/INFO \[x\] from a\n.*INFO \[x\] from b\n$/);
    expect(a.stderr).toContain('note: a/x, b/x share the title "x"');
    // From a folder inside the project, as npm and git find theirs: the project's root.
    const env = { ...process.env, TASKHOST_ROOT: "" };
    const inside = spawnSync(process.execPath, [BIN, "status", "--json"], { cwd: path.join(project.root, "tasks", "a"), encoding: "utf8", env });
    expect((JSON.parse(inside.stdout) as { tasks: Array<{ id: string }> }).tasks.map((t) => t.id)).toEqual(["a/x", "b/x", "c"]);
    const c = await project.cli(["logs", "c"]);
    expect(c.stdout).toMatch(/^\S+ INFO \[other\] \[x\] not a line of x\n$/);
    expect(c.stderr).toBe("");
  });

  it("a command during a host restart waits for the new host instead of failing", async () => {
    await project.writeTask("hello.ts", taskSource({ schedule: "every(1).hours", body: "" }));
    const host = await project.start();
    const socket = hostFiles(path.join(project.root, "data")).socket;
    const restarting = project.cli(["restart"]);
    // The moment between the old host and the new one: nobody answers the socket.
    await waitFor(
      async () => {
        try {
          await callHost(socket, "ping", {}, 1000);
          return false;
        } catch {
          return true;
        }
      },
      { what: "the old host to go", intervalMs: 20 },
    );
    const during = await project.cli(["status", "--json"]);
    expect(during.code, during.stderr).toBe(0);
    expect((JSON.parse(during.stdout) as { host: { running: boolean } }).host.running).toBe(true);
    expect((await restarting).code).toBe(0);
    expect(host.child.exitCode).toBeNull();
  });
});

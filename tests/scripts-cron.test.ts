import { execFile, spawnSync } from "node:child_process";
import { access, chmod, constants, mkdir, mkdtemp, readdir, readFile, readlink, realpath, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BIN, REPO, TempProject } from "./support/temp-project.ts";
import { waitFor } from "./support/wait-for.ts";
import { readHostLog } from "./support/host-log.ts";
import { isProcessAlive } from "../runtime/util/is-process-alive.ts";

// setup-cron.sh edits a temp file (TASKHOST_CRONTAB_FILE), never the real
// crontab; monitor.sh runs against a temp project (TASKHOST_PROJECT_ROOT) with
// a fake systemctl (TASKHOST_SYSTEMCTL), so the machine's systemd is never asked.

const SETUP_CRON = path.join(REPO, "scripts", "setup-cron.sh");
const MONITOR = path.join(REPO, "scripts", "monitor.sh");
const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}
async function script(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  try {
    const { stdout, stderr } = await run(file, args, { env: { ...process.env, ...env }, timeout: 90_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}


/** PIDs of processes whose working directory is `root` (the hosts of that project). */
async function processesIn(root: string): Promise<{ pid: number; ppid: number }[]> {
  const found: { pid: number; ppid: number }[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if ((await readlink(`/proc/${entry}/cwd`)) !== root) continue;
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      found.push({ pid: Number(entry), ppid });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

describe("scripts/setup-cron.sh", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "th-cron-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("adds one line however often it runs, keeps other lines, and --remove takes it out", async () => {
    await access(SETUP_CRON, constants.X_OK);
    await access(MONITOR, constants.X_OK);
    const crontab = path.join(dir, "crontab");
    const theirs = "MAILTO=ops@example.com\n0 3 * * * /usr/local/bin/backup # taskhost-monitor:/srv/other\n";
    await writeFile(crontab, theirs);
    const env = { TASKHOST_CRONTAB_FILE: crontab };

    // --dry-run shows the crontab it would write and leaves it as it is.
    const dry = await script(SETUP_CRON, ["--dry-run", "--interval", "7"], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("--dry-run:");
    expect(dry.stdout).toContain("  | MAILTO=ops@example.com");
    expect(dry.stdout).toMatch(/ {2}\| \*\/7 \* \* \* \* .*monitor\.sh/);
    expect(await readFile(crontab, "utf8")).toBe(theirs);

    const first = await script(SETUP_CRON, [], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("Added to");
    const second = await script(SETUP_CRON, [], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain("already in");

    const repo = await realpath(REPO);
    const marker = `# taskhost-monitor:${repo}`;
    let text = await readFile(crontab, "utf8");
    let ours = text.split("\n").filter((l) => l.endsWith(marker));
    expect(ours).toHaveLength(1);
    expect(ours[0]).toMatch(new RegExp(`^\\*/5 \\* \\* \\* \\* TASKHOST_NODE=\\S+ ${repo}/scripts/monitor\\.sh >/dev/null ${marker}$`));
    expect(text.startsWith(theirs)).toBe(true);
    expect(text.endsWith("\n")).toBe(true); // cron ignores an unterminated last line

    const every10 = await script(SETUP_CRON, ["--interval", "10"], env);
    expect(every10.stdout).toContain("Replaced");
    text = await readFile(crontab, "utf8");
    ours = text.split("\n").filter((l) => l.endsWith(marker));
    expect(ours).toHaveLength(1);
    expect(ours[0]).toMatch(/^\*\/10 /);

    const dryRemove = await script(SETUP_CRON, ["--remove", "--dry-run"], env);
    expect(dryRemove.stdout).not.toContain("*/10");
    expect(dryRemove.stdout).toContain("  | MAILTO=ops@example.com");
    expect(await readFile(crontab, "utf8")).toBe(text);

    const removed = await script(SETUP_CRON, ["--remove"], env);
    expect(removed.code, removed.stderr).toBe(0);
    expect(await readFile(crontab, "utf8")).toBe(theirs);
    const again = await script(SETUP_CRON, ["--remove"], env);
    expect(again.stdout).toContain("nothing to remove");
    expect(await readFile(crontab, "utf8")).toBe(theirs);

    const bad = await script(SETUP_CRON, ["--interval", "0"], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("--interval must be");
  });

  it("creates the crontab when there is none", async () => {
    const crontab = path.join(dir, "new", "crontab");
    const result = await script(SETUP_CRON, ["--interval", "2"], { TASKHOST_CRONTAB_FILE: crontab });
    expect(result.code, result.stderr).toBe(0);
    const text = await readFile(crontab, "utf8");
    expect(text.split("\n").filter(Boolean)).toHaveLength(1);
    expect(text).toMatch(/^\*\/2 \* \* \* \* .*monitor\.sh/);
  });
});

describe("scripts/monitor.sh", () => {
  let project: TempProject;
  let root: string;
  let fakeSystemctl: string;
  const started: number[] = [];

  function monitor(systemd: { active: string; enabled: string } = { active: "inactive", enabled: "" }): Promise<Result> {
    return script(MONITOR, [], {
      TASKHOST_PROJECT_ROOT: project.root,
      TASKHOST_BIN: BIN,
      TASKHOST_NODE: process.execPath,
      TASKHOST_SYSTEMCTL: fakeSystemctl,
      FAKE_ACTIVE: systemd.active,
      FAKE_ENABLED: systemd.enabled,
      NO_COLOR: "1",
    });
  }
  const monitorLog = () => readFile(path.join(root, "logs", "monitor.log"), "utf8").catch(() => "");

  beforeEach(async () => {
    project = await TempProject.create({ scheduler: { shutdown_grace: 2 } });
    root = await realpath(project.root);
    await mkdir(path.join(root, "bin"));
    fakeSystemctl = path.join(root, "bin", "systemctl");
    await writeFile(fakeSystemctl, '#!/bin/sh\necho "ActiveState=$FAKE_ACTIVE"\necho "UnitFileState=$FAKE_ENABLED"\n');
    await chmod(fakeSystemctl, 0o755);
  });
  afterEach(async () => {
    // Whatever a monitor started in this project and is still alive.
    for (const { pid } of await processesIn(root)) started.push(pid);
    for (const pid of started.splice(0)) if (isProcessAlive(pid)) process.kill(pid, "SIGKILL");
    await project.cleanup();
  });

  it("run twice at once, then again, starts exactly one host (over a stale PID file)", async () => {
    // A PID file left by a host that died: it holds no lock.
    const dead = spawnSync("true").pid!;
    await mkdir(path.join(root, "data"), { recursive: true });
    await writeFile(path.join(root, "data", "taskhost.pid"), `${dead}\n`);

    const [a, b] = await Promise.all([monitor(), monitor()]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const third = await monitor();
    expect(third.code, third.stderr).toBe(0);

    const pid = Number((await readFile(path.join(root, "data", "taskhost.pid"), "utf8")).trim());
    started.push(pid);
    expect(pid).not.toBe(dead);
    expect(isProcessAlive(pid)).toBe(true);

    const status = await project.json<{ host: { running: boolean; pid: number } }>(["status"]);
    expect(status.host.running).toBe(true);
    expect(status.host.pid).toBe(pid);

    // One process tree for this project (a supervisor may have a host child),
    // rooted at the PID in the lock file.
    const procs = await processesIn(root);
    const pids = new Set(procs.map((p) => p.pid));
    const tops = procs.filter((p) => !pids.has(p.ppid));
    expect(tops.map((p) => p.pid)).toEqual([pid]);

    const log = await monitorLog();
    expect(log.match(/starting one/g)).toHaveLength(1);
    expect(log.match(/host running \(pid \d+\); nothing to do/g)).toHaveLength(2);
    expect(log).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} \[\d+\] started: .*pid/m);
    const hostStarts = (await readHostLog(root)).match(/"event":"host\.start"/g);
    expect(hostStarts).toHaveLength(1);

    // Stop it the way an admin would: SIGTERM to the PID in the lock file.
    process.kill(pid, "SIGTERM");
    await waitFor(() => !isProcessAlive(pid), { timeoutMs: 20_000, what: `host ${pid} to exit after SIGTERM` });
    await waitFor(async () => (await processesIn(root)).length === 0, { timeoutMs: 10_000, what: "no process left in the project" });
  });

  it("never starts a host beside a systemd unit that is active or enabled", async () => {
    const active = await monitor({ active: "active", enabled: "enabled" });
    expect(active.code, active.stderr).toBe(0);
    const restarting = await monitor({ active: "activating", enabled: "disabled" });
    expect(restarting.code, restarting.stderr).toBe(0);
    const stoppedByAdmin = await monitor({ active: "inactive", enabled: "enabled" });
    expect(stoppedByAdmin.code, stoppedByAdmin.stderr).toBe(0);

    const log = await monitorLog();
    expect(log).toContain("systemd system unit taskhost.service is active; systemd runs the host, nothing to do");
    expect(log).toContain("is activating");
    expect(log).toContain("is enabled but inactive; not starting a host beside systemd");
    expect(log).not.toContain("starting one");
    expect(await processesIn(root)).toEqual([]);
    const status = await project.json<{ host: { running: boolean } }>(["status"]);
    expect(status.host.running).toBe(false);
  });
});

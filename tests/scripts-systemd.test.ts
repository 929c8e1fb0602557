import { execFile, execFileSync } from "node:child_process";
import { access, constants, mkdir, mkdtemp, readFile, realpath, rm, stat, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, REPO, SHELL_BIN, TempProject } from "./support/temp-project.ts";
import { HOST_NODE_FLAGS } from "../runtime/supervisor/host-node-flags.ts";

// scripts/install.sh against a temp project, always with --output (a temp
// folder) so nothing here touches /etc/systemd/system, users or systemctl.

const INSTALL = path.join(REPO, "scripts", "install.sh");
const run = promisify(execFile);

function which(command: string): string | null {
  try {
    return execFileSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).trim() || null;
  } catch {
    return null;
  }
}
const ANALYZE = which("systemd-analyze");
const NO_ANALYZE = "systemd-analyze is not installed (Debian package `systemd`)";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

describe("scripts/install.sh (systemd unit)", () => {
  let project: TempProject;
  let out: string;
  let node: string;
  let env: NodeJS.ProcessEnv;

  async function install(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Result> {
    try {
      const { stdout, stderr } = await run(INSTALL, args, { env: { ...env, ...extraEnv } });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
    }
  }

  beforeAll(async () => {
    project = await TempProject.create({ scheduler: { shutdown_grace: 45, max_memory_usage: 300 } });
    out = await mkdtemp(path.join(os.tmpdir(), "th-unit-"));
    node = await realpath(process.execPath);
    env = { ...process.env, TASKHOST_PROJECT_ROOT: project.root, TASKHOST_BIN: BIN, TASKHOST_NODE: node };
  });
  afterAll(async () => {
    await project.cleanup();
    await rm(out, { recursive: true, force: true });
  });

  it("is executable", async () => {
    await access(INSTALL, constants.X_OK);
  });

  it("writes a hardened system unit with the project's paths and config, and is idempotent", async () => {
    const first = await install(["--dry-run", "--output", out]);
    expect(first.code, first.stderr).toBe(0);
    // e.g. no "could not read config/config.yaml"; only the warning that a project under /tmp
    // (where these tests make theirs) is hidden from the real service by PrivateTmp=yes.
    expect(first.stderr).toMatch(/^warning: the project .* is under \/tmp or \/var\/tmp, which the unit's PrivateTmp=yes hides from the service.*\(a real install refuses\)\n$/);
    expect(first.stdout).toContain("would create the system user 'taskhost'");
    expect(first.stdout).toContain("systemctl daemon-reload && systemctl enable --now taskhost.service (dry run)");

    const unitFile = path.join(out, "taskhost.service");
    const unit = await readFile(unitFile, "utf8");
    const root = await realpath(project.root);
    const lines = unit.split("\n");
    for (const line of [
      `ExecStart=${SHELL_BIN} start`,
      `Environment=TASKHOST_NODE=${node}`,
      `WorkingDirectory=${root}`,
      "User=taskhost",
      "Restart=on-failure",
      "RestartPreventExitStatus=78",
      "RestartSec=5",
      "StartLimitIntervalSec=300",
      "StartLimitBurst=5",
      "KillSignal=SIGTERM",
      "KillMode=mixed",
      "TimeoutStopSec=75", // shutdown_grace 45 + 30
      "MemoryMax=4802M", // 300 MB * 1.5 + 256 + 8 runs * 512 MB
      "Environment=NODE_ENV=production",
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      `ReadWritePaths=${root}/data ${root}/logs`,
      "ProtectHome=yes", // the project is not under /home or /root
      "PrivateTmp=yes",
      "ProtectKernelTunables=yes",
      "ProtectKernelModules=yes",
      "ProtectControlGroups=yes",
      "RestrictSUIDSGID=yes",
      "LockPersonality=yes",
      "RestrictRealtime=yes",
      "RestrictNamespaces=yes",
      "SystemCallArchitectures=native",
      "CapabilityBoundingSet=",
      "UMask=0027",
      "WantedBy=multi-user.target",
    ]) {
      expect(lines, line).toContain(line);
    }
    // V8's JIT needs W+X memory.
    expect(unit).not.toMatch(/^MemoryDenyWriteExecute=/m);
    // With a supervisor, exit 75 is the supervisor's business, never systemd's.
    expect(unit).not.toMatch(/^(SuccessExitStatus|RestartForceExitStatus)=/m);

    const mtime = (await stat(unitFile)).mtimeMs;
    const again = await install(["--dry-run", "--output", out]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("is up to date");
    expect(await readFile(unitFile, "utf8")).toBe(unit);
    expect((await stat(unitFile)).mtimeMs).toBe(mtime);
  });

  it("--dry-run without --output prints the unit and writes nothing", async () => {
    const existed = existsSync("/etc/systemd/system/th-dry-run-probe.service");
    const result = await install(["--dry-run", "--service-name", "th-dry-run-probe"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("Dry run: the unit /etc/systemd/system/th-dry-run-probe.service would be:");
    expect(result.stdout).toContain("SyslogIdentifier=th-dry-run-probe");
    expect(existsSync("/etc/systemd/system/th-dry-run-probe.service")).toBe(existed);
  });

  it("a system unit for a project under /tmp is refused (PrivateTmp hides it); --user --dry-run shows the linger step", async () => {
    // (A real install is not run here; the dry run says what it would do.)
    const dry = await install(["--dry-run", "--service-name", "th-dry-run-probe"]);
    expect(dry.stderr).toContain("PrivateTmp=yes hides from the service (it would not find its own files); move it (e.g. to /opt/taskhost) or use --user (a real install refuses)");
    const user = await install(["--user", "--dry-run"], { XDG_CONFIG_HOME: out });
    expect(user.code, user.stderr).toBe(0);
    expect(user.stdout).toMatch(/would run: loginctl enable-linger \S+, so the service keeps running after you log out \(dry run\)/);
  });

  it("--user writes a user unit without User= or mount sandboxing", async () => {
    const dir = path.join(out, "user");
    const result = await install(["--user", "--dry-run", "--output", dir]);
    expect(result.code, result.stderr).toBe(0);
    const unit = await readFile(path.join(dir, "taskhost.service"), "utf8");
    expect(unit).not.toMatch(/^User=/m);
    expect(unit).not.toMatch(/^ProtectSystem=/m);
    expect(unit).toMatch(/^NoNewPrivileges=yes$/m);
    expect(unit).toMatch(/^WantedBy=default\.target$/m);
    expect((await install(["--user", "--run-user", "x", "--output", dir])).code).not.toBe(0);
  });

  it("--no-supervisor makes systemd the host's supervisor: start --no-supervisor, restarted promptly", async () => {
    const dir = path.join(out, "plain");
    const result = await install(["--no-supervisor", "--dry-run", "--output", dir]);
    expect(result.code, result.stderr).toBe(0);
    const lines = (await readFile(path.join(dir, "taskhost.service"), "utf8")).split("\n");
    // Node gets the flags the supervisor would give its host.
    const execStart = `ExecStart=${node} ${HOST_NODE_FLAGS.join(" ")} ${BIN} start --no-supervisor`;
    for (const line of [execStart, "Restart=on-failure", "RestartSec=1", "RestartPreventExitStatus=78", "SuccessExitStatus=75", "RestartForceExitStatus=75"]) {
      expect(lines, line).toContain(line);
    }
  });

  it("lets the service write the tasks folder when the dashboard writes task files (dashboard.enabled, or --writable-tasks)", async () => {
    const root = await realpath(project.root);
    const readWrite = async (dir: string) =>
      (await readFile(path.join(dir, "taskhost.service"), "utf8")).split("\n").find((l) => l.startsWith("ReadWritePaths="));
    const flag = await install(["--writable-tasks", "--dry-run", "--output", path.join(out, "flag")]);
    expect(flag.code, flag.stderr).toBe(0);
    expect(await readWrite(path.join(out, "flag"))).toBe(`ReadWritePaths=${root}/data ${root}/logs ${root}/tasks`);
    expect(flag.stdout).toContain(`- writable: ${root}/data ${root}/logs ${root}/tasks`);
    const config = await readFile(path.join(project.root, "config", "config.yaml"), "utf8");
    try {
      await project.writeConfig({ dashboard: { enabled: true }, tasks: { directory: "jobs" } });
      const dashboard = await install(["--dry-run", "--output", path.join(out, "dashboard")]);
      expect(dashboard.code, dashboard.stderr).toBe(0);
      expect(await readWrite(path.join(out, "dashboard"))).toBe(`ReadWritePaths=${root}/data ${root}/logs ${root}/jobs`);
    } finally {
      await writeFile(path.join(project.root, "config", "config.yaml"), config);
    }
  });

  it("--uninstall removes the unit, and says so when there is none", async () => {
    const dir = path.join(out, "uninstall");
    expect((await install(["--output", dir, "--service-name", "th-gone"])).code).toBe(0);
    expect(existsSync(path.join(dir, "th-gone.service"))).toBe(true);
    const removed = await install(["--uninstall", "--output", dir, "--service-name", "th-gone"]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain(`removing ${dir}/th-gone.service`);
    expect(existsSync(path.join(dir, "th-gone.service"))).toBe(false);
    const again = await install(["--uninstall", "--output", dir, "--service-name", "th-gone"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("does not exist; nothing to remove");
  });

  it("refuses bad options with a clear message", async () => {
    const bad = await install(["--bogus"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("unknown option '--bogus'");
    expect((await install(["--service-name", "a b"])).stderr).toContain("not a valid unit name");
    // systemd would split Environment=TASKHOST_NODE=… at the space.
    const spaced = path.join(out, "my node");
    await mkdir(spaced, { recursive: true });
    await writeFile(path.join(spaced, "node"), `#!/bin/sh\nexec ${node} "$@"\n`, { mode: 0o755 });
    const refused = await install(["--dry-run"], { TASKHOST_NODE: path.join(spaced, "node") });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`the path of node, '${path.join(spaced, "node")}', contains spaces`);
  });

  it.skipIf(!ANALYZE)(`passes systemd-analyze verify and security (skipped if ${NO_ANALYZE})`, async () => {
    const unitFile = path.join(out, "taskhost.service");
    if (!existsSync(unitFile)) expect((await install(["--dry-run", "--output", out])).code).toBe(0);

    const verify = await run(ANALYZE!, ["verify", unitFile]).then(
      ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` }),
    );
    // Warnings and errors about the unit name its file and line.
    expect(verify.output).not.toMatch(/taskhost\.service/);
    expect(verify.code, verify.output).toBe(0);

    const security = await run(ANALYZE!, ["security", "--offline=true", unitFile]).then(
      ({ stdout, stderr }) => stdout + stderr,
      (e: { stdout?: string; stderr?: string; message: string }) => `${e.stdout ?? ""}${e.stderr ?? ""}${e.message}`,
    );
    if (/unrecognized option|unknown option/i.test(security)) {
      console.warn(`systemd-analyze security --offline is not supported by this systemd; exposure not measured`);
      return;
    }
    const score = /Overall exposure level for taskhost\.service: ([\d.]+) (\w+)/.exec(security);
    expect(score, security).not.toBeNull();
    console.log(`systemd-analyze security --offline=true: exposure ${score![1]} ${score![2]}`);
    expect(Number(score![1])).toBeLessThanOrEqual(2.5);

    // The user unit too (it needs a runtime directory for the user manager).
    const userDir = path.join(out, "user-verify");
    expect((await install(["--user", "--dry-run", "--output", userDir])).code).toBe(0);
    const xdg = await mkdtemp(path.join(os.tmpdir(), "th-xdg-"));
    try {
      const userVerify = await run(ANALYZE!, ["--user", "verify", path.join(userDir, "taskhost.service")], {
        env: { ...process.env, XDG_RUNTIME_DIR: xdg },
      }).then(
        ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` }),
      );
      expect(userVerify.output).not.toMatch(/taskhost\.service/);
      expect(userVerify.code, userVerify.output).toBe(0);
    } finally {
      await rm(xdg, { recursive: true, force: true });
    }
  });
});

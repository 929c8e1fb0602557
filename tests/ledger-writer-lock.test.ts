/**
 * Issue 10.1: one writer per ledger, held at the OS level for as long as it
 * can write. First the lock between real processes; then the scenario that
 * broke it: `kill -9` of the supervisor alone, and a new `start` while the
 * orphaned host is still stopping.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, realpath, rm, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Ledger, RunRow } from "../runtime/store/ledger.ts";
import { openLedger } from "../runtime/store/open-ledger.ts";
import { openSqlJsStore } from "../runtime/store/sqljs-store.ts";
import { writerLockHolder } from "../runtime/store/writer-lock.ts";
import { isProcessAlive } from "../runtime/util/is-process-alive.ts";
import { countAgainstLedger, makeMarkersDir, markerTask, readMarkers } from "./support/execution-markers.ts";
import { descendants, TempProject } from "./support/temp-project.ts";
import { waitFor } from "./support/wait-for.ts";
import { readHostLog } from "./support/host-log.ts";

const projectRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const openChild = join(projectRoot, "tests", "fixtures", "ledger-open-child.ts");

describe("the ledger's writer lock", () => {
  let dir: string;
  let location: { path: string };
  const children: ChildProcess[] = [];
  const ledgers: Ledger[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "taskhost-lock-"));
    location = { path: join(dir, "data", "scheduler.db") };
  });

  afterEach(async () => {
    for (const ledger of ledgers.splice(0)) await ledger.close();
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await once(child, "exit");
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  /** A child opening the ledger; `lines()` is what it printed so far. */
  function startChild(waitMs: number, close = false) {
    const child = spawn(process.execPath, ["--import", "tsx", openChild, JSON.stringify(location), String(waitMs), ...(close ? ["close"] : [])], {
      cwd: projectRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const printed = (pattern: RegExp, what: string) =>
      waitFor(() => pattern.exec(stdout), { timeoutMs: 30_000, what: `${what} (stdout: ${stdout}; stderr: ${stderr})` });
    return { child, printed, stdout: () => stdout };
  }

  const open = async (lockWaitMs = 0) => {
    const ledger = await openLedger(location, { onWarning: () => {}, lockWaitMs });
    ledgers.push(ledger);
    return ledger;
  };

  it("refuses a second writer at once, naming the holder", async () => {
    const ledger = await open();
    const other = startChild(0);
    const [line] = await other.printed(/^refused .*$/m, "the refusal");
    expect(line).toContain("ERR_DB_LOCKED");
    expect(line).toContain(`process ${process.pid}`);
    expect(line).toContain(location.path);
    expect(await writerLockHolder(location.path)).toMatchObject({ pid: process.pid });
    // In this process too.
    await expect(openLedger(location, { lockWaitMs: 0 })).rejects.toMatchObject({ code: "ERR_DB_LOCKED" });
    await ledger.setState("me", "k", 1);
  });

  it("lets a waiting writer in once the holder closes, after its last write", async () => {
    const ledger = await open();
    await ledger.setState("parent", "n", 1);
    const waiting = startChild(20_000, true);
    await waiting.printed(new RegExp(`^waiting ${process.pid}$`, "m"), "the child to wait");
    await ledger.setState("parent", "n", 2); // still ours to write
    await ledger.close();
    await waiting.printed(/^closed$/m, "the child to open, write and close");
    const again = await open();
    expect(await again.getState("parent")).toEqual({ n: 2 });
    expect(await again.getState("child")).toEqual({ "was-here": waiting.child.pid });
  });

  it("cannot be squatted by binding a name guessed from the ledger's path", async () => {
    await mkdir(dirname(location.path), { recursive: true });
    const real = join(await realpath(dirname(location.path)), "scheduler.db");
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen({ path: `\0taskhost-ledger-${createHash("sha256").update(real).digest("hex").slice(0, 40)}` }, resolve));
    try {
      const ledger = await open();
      expect(await ledger.listTasks()).toEqual([]);
      // Its secret is the owner's alone.
      expect((await stat(`${location.path}.lock-key`)).mode & 0o777).toBe(0o600);
    } finally {
      squatter.close();
    }
  });

  it("is released by the kernel when its holder is killed with SIGKILL", async () => {
    const holder = startChild(0);
    await holder.printed(/^opened$/m, "the child to open");
    await expect(open()).rejects.toMatchObject({ code: "ERR_DB_LOCKED" });
    holder.child.kill("SIGKILL");
    await once(holder.child, "exit");
    const ledger = await open();
    expect(await ledger.listTasks()).toEqual([]);
    expect(await writerLockHolder(location.path)).toMatchObject({ pid: process.pid });
  });
});

describe("kill -9 of the supervisor alone, then a new start", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create({ scheduler: { shutdown_grace: 30 } });
    await makeMarkersDir(project.root);
  });
  afterEach(async () => {
    // The daemon's supervisor and hosts are not the TempProject's children.
    const pid = Number((await readFile(join(project.root, "data", "taskhost.pid"), "utf8").catch(() => "")).trim());
    if (pid > 0) for (const each of [...descendants(pid), pid]) killQuietly(each);
    await project.cleanup();
  });

  const markers = () => readMarkers(project.root);

  it("records every execution once, with no journal cut short, and start --daemon reports the new host", { timeout: 300_000 }, async () => {
    await project.writeTask("tick.ts", markerTask("every(1).seconds", ""));
    // Runs that outlast the kill by far: the orphaned host keeps recording their ends during
    // its grace, long after a new start (they ignore ctx.signal).
    await project.writeTask(
      "slow.ts",
      markerTask("every(1).seconds", "await new Promise((resolve) => setTimeout(resolve, 12_000));", "/*\n---\noverlap: allow\n---\n*/\n"),
    );
    const old = await project.start();
    const oldHostPid = await old.hostPid();
    await waitFor(async () => (await markers()).filter((m) => m.scheduleId === "slow#start").length >= 3, {
      timeoutMs: 60_000,
      what: "slow runs in flight",
    });

    // The supervisor alone: the host sees its IPC channel close and stops gracefully.
    old.child.kill("SIGKILL");
    await old.exited;
    expect(isProcessAlive(oldHostPid)).toBe(true);
    const started = await project.cli(["start", "--daemon"], 180_000);
    expect(started.code, started.stderr).toBe(0);
    const reported = Number(/pid (\d+)/.exec(started.stdout)?.[1]);
    const supervisorPid = Number((await readFile(join(project.root, "data", "taskhost.pid"), "utf8")).trim());
    expect(reported).not.toBe(old.pid);
    expect(reported).toBe(supervisorPid);
    // The old host finished its stop (its runs' grace) and went away; it held the ledger until then.
    await waitFor(() => !isProcessAlive(oldHostPid), { timeoutMs: 10_000, what: "the old host to exit" });

    const before = (await markers()).length;
    await waitFor(async () => (await markers()).length >= before + 6, { timeoutMs: 60_000, what: "runs of the new host" });
    process.kill(supervisorPid, "SIGTERM");
    await waitFor(() => !isProcessAlive(supervisorPid), { timeoutMs: 60_000, what: "the new host to stop" });

    const warnings: string[] = [];
    const ledger = await openSqlJsStore({ path: join(project.root, "data", "scheduler.db"), onWarning: (m) => warnings.push(m) });
    let runs: RunRow[];
    try {
      runs = [...(await ledger.listRuns("tick", { limit: 100_000 })), ...(await ledger.listRuns("slow", { limit: 100_000 }))];
    } finally {
      await ledger.close();
    }
    expect(warnings.filter((w) => /up to entry|damaged|not replayed|backup/.test(w))).toEqual([]);
    const log = await readHostLog(project.root);
    expect(log).not.toMatch(/journal up to entry/);

    const executed = await markers();
    const { unrecorded, doubled } = countAgainstLedger(executed, runs);
    expect({ unrecorded, doubled }).toEqual({ unrecorded: [], doubled: [] });
    expect(executed.length).toBeGreaterThan(before);
  });
});

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setImmediate as tick } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogs, type Logs } from "../runtime/logging/create-logs.ts";
import { resolveLoggingOptions, type LoggingOptions } from "../runtime/logging/logging-options.ts";

let root: string;
let open: Logs[] = [];

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "taskhost-logs-"));
});

afterEach(async () => {
  await Promise.all(open.map((logs) => logs.close()));
  open = [];
  fs.rmSync(root, { recursive: true, force: true });
});

/** A stdout stand-in that records what is printed. */
function fakeStdout() {
  const fake = { text: "", isTTY: false, write: (s: string) => ((fake.text += s), true) };
  return fake;
}

async function start(input: LoggingOptions, extra: Parameters<typeof createLogs>[1] = {}) {
  const logs = await createLogs(resolveLoggingOptions(input, root), extra);
  open.push(logs);
  return logs;
}

const read = (name: string) => fs.readFileSync(path.join(root, "logs", name), "utf8");
const lines = (name: string) => read(name).split("\n").filter(Boolean);
/** Rotated files of one stream, oldest first (by pino-roll's number). */
const rotated = (name: string) =>
  fs
    .readdirSync(path.join(root, "logs"))
    .filter((f) => f.startsWith(`${name}.`) && /\.\d+\.log$/.test(f))
    .sort((a, b) => Number(/\.(\d+)\.log$/.exec(a)![1]) - Number(/\.(\d+)\.log$/.exec(b)![1]));

describe("createLogs", () => {
  it("writes host events as JSON to scheduler.log and task lines as text to tasks.log, creating the directory", async () => {
    const logs = await start({});
    logs.host.info({ event: "host.start", pid: 123 }, "host started");
    logs.task("Hello", "info", "tick");
    logs.task("Hello", "warn", "first line\n  second line\n");
    await logs.close();

    const [record] = lines("scheduler.log").map((l) => JSON.parse(l));
    expect(record).toMatchObject({ level: "info", event: "host.start", pid: 123, msg: "host started" });
    expect(new Date(record.time).toISOString()).toBe(record.time);

    const text = read("tasks.log");
    expect(text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO \[Hello\] tick\n/);
    // The prefix is on the first line only; the message's own newline ends it.
    expect(text).toMatch(/Z WARN \[Hello\] first line\n  second line\n$/);
    expect(read("errors.log")).toBe("");
  });

  it("copies error lines of both the host and tasks to errors.log", async () => {
    const logs = await start({});
    logs.host.warn({ event: "config.rejected" }, "not an error");
    logs.host.error({ event: "task.error", taskId: "t1" }, "task crashed");
    logs.task("Hello", "error", "boom");
    logs.task("Hello", "info", "fine");
    await logs.close();

    const errors = lines("errors.log");
    expect(errors).toHaveLength(2);
    expect(JSON.parse(errors[0])).toMatchObject({ level: "error", event: "task.error", taskId: "t1" });
    expect(errors[1]).toMatch(/Z ERROR \[Hello\] boom$/);
    expect(lines("scheduler.log")).toHaveLength(2);
    expect(lines("tasks.log")).toHaveLength(2);
  });

  it("drops lines below the level and follows setLevel", async () => {
    const logs = await start({ level: "info" });
    logs.host.debug({ event: "debug.one" }, "hidden");
    logs.task("T", "debug", "hidden");
    logs.setLevel("debug");
    logs.host.debug({ event: "debug.two" }, "shown");
    logs.task("T", "debug", "shown");
    logs.setLevel("error");
    logs.host.warn({ event: "warn.one" }, "hidden");
    logs.task("T", "info", "hidden");
    logs.task("T", "error", "shown");
    await logs.close();

    expect(lines("scheduler.log").map((l) => JSON.parse(l).event)).toEqual(["debug.two"]);
    expect(lines("tasks.log").map((l) => l.replace(/^\S+ /, ""))).toEqual(["DEBUG [T] shown", "ERROR [T] shown"]);
  });

  it("keeps each log path a relative link to the newest file across size rotations, keeping `retention` rotated files", async () => {
    const logs = await start({ max_size: "1 KB", rotation: "daily", retention: 2 });
    for (let i = 0; i < 60; i++) {
      logs.task("Roller", "info", `line ${i} ${"x".repeat(80)}`);
      logs.host.info({ event: "roll.test", i }, "x".repeat(80));
      await tick(); // pino-roll switches files on the tick after the write that crossed the size
    }
    logs.task("Roller", "info", "the newest line");

    for (const name of ["tasks", "scheduler"]) {
      const link = path.join(root, "logs", `${name}.log`);
      expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
      expect(path.isAbsolute(fs.readlinkSync(link))).toBe(false);
      const files = rotated(name);
      expect(fs.realpathSync(link)).toBe(fs.realpathSync(path.join(root, "logs", files.at(-1)!)));
      // Dated names, so a restart on another day never appends to an old file.
      expect(files.at(-1)).toMatch(new RegExp(`^${name}\\.\\d{4}-\\d\\d-\\d\\d\\.\\d+\\.log$`));
    }
    expect(read("tasks.log")).toContain("the newest line");

    // Clean-up runs asynchronously after each roll.
    for (let i = 0; i < 100 && rotated("tasks").length > 3; i++) await new Promise((r) => setTimeout(r, 20));
    expect(rotated("tasks").length).toBe(3); // 2 rotated + the active one
    expect(rotated("scheduler").length).toBeLessThanOrEqual(3);
    await logs.close();
  });

  it("creates the logs directory 0700 and every log file 0600, rolled ones too, and tightens files an older version left 0644 (issue 10.10)", async () => {
    const mode = (file: string) => fs.statSync(path.join(root, "logs", file)).mode & 0o777;
    fs.mkdirSync(path.join(root, "logs"), { mode: 0o700 });
    fs.writeFileSync(path.join(root, "logs", "tasks.2020-01-01.1.log"), "old secret\n", { mode: 0o644 });
    fs.chmodSync(path.join(root, "logs", "tasks.2020-01-01.1.log"), 0o644);
    const logs = await start({ max_size: "1 KB", rotation: "daily", retention: 50 });
    for (let i = 0; i < 30; i++) {
      logs.task("Roller", "info", `line ${i} ${"x".repeat(80)}`);
      logs.host.error({ event: "roll.test", i }, "x".repeat(80));
      await tick();
    }
    await logs.close();
    const files = fs.readdirSync(path.join(root, "logs")).filter((f) => /\.\d+\.log$/.test(f));
    expect(rotated("tasks").length).toBeGreaterThan(2);
    expect(rotated("errors").length).toBeGreaterThan(2);
    expect(Object.fromEntries(files.map((f) => [f, mode(f).toString(8)]))).toEqual(Object.fromEntries(files.map((f) => [f, "600"])));

    const fresh = path.join(root, "fresh");
    const second = await createLogs(resolveLoggingOptions({ directory: "fresh/logs" }, root));
    open.push(second);
    expect((fs.statSync(path.join(fresh, "logs")).mode & 0o777).toString(8)).toBe("700");
    // A directory the user made keeps its mode.
    expect(mode(".").toString(8)).toBe("700");
    const shared = path.join(root, "shared");
    fs.mkdirSync(shared, { mode: 0o755 });
    fs.chmodSync(shared, 0o755);
    open.push(await createLogs(resolveLoggingOptions({ directory: "shared" }, root)));
    expect((fs.statSync(shared).mode & 0o777).toString(8)).toBe("755");
  });

  it("continues in the same directory after a restart, the links still valid", async () => {
    const first = await start({ max_size: "1 KB", rotation: "none" });
    first.task("A", "info", "before restart");
    await first.close();
    const second = await start({ max_size: "1 KB", rotation: "none" });
    second.task("A", "info", "after restart");
    await second.close();
    const text = read("tasks.log");
    expect(text).toContain("after restart");
    expect(path.isAbsolute(fs.readlinkSync(path.join(root, "logs", "tasks.log")))).toBe(false);
  });

  it("moves a plain file found at a log path aside instead of overwriting it", async () => {
    fs.mkdirSync(path.join(root, "logs"));
    fs.writeFileSync(path.join(root, "logs", "tasks.log"), "old line\n");
    const logs = await start({});
    await logs.close();
    expect(fs.lstatSync(path.join(root, "logs", "tasks.log")).isSymbolicLink()).toBe(true);
    const saved = fs.readdirSync(path.join(root, "logs")).filter((f) => f.startsWith("tasks.saved-"));
    expect(saved).toHaveLength(1);
    expect(fs.readFileSync(path.join(root, "logs", saved[0]), "utf8")).toBe("old line\n");
  });

  it("prints short human lines on the console when asked", async () => {
    const out = fakeStdout();
    const logs = await start({}, { console: true, stdout: out as unknown as NodeJS.WriteStream });
    logs.host.info({ event: "host.start", pid: 123 }, "host started");
    logs.task("Hello", "info", "tick");
    await logs.close();
    const printed = out.text.split("\n");
    expect(printed[0]).toMatch(/^\d\d:\d\d:\d\d info  host\.start host started pid=123$/);
    expect(printed[1]).toMatch(/^\d\d:\d\d:\d\d info  \[Hello\] tick$/);
    expect(out.text).not.toContain("\x1b[");
  });

  it("writes a burst of console lines in one write, in order, and what it holds when the process exits", async () => {
    const out = { text: "", writes: 0, isTTY: false, write: (s: string) => ((out.text += s), out.writes++, true) };
    const logs = await start({}, { console: true, stdout: out as unknown as NodeJS.WriteStream });
    for (let i = 0; i < 100; i++) logs.host.info({ event: "run.start", n: i }, `run ${i}`);
    logs.task("Hello", "info", "after them");
    // Held for a few dozen ms (console-sink.ts HOLD_MS), then written at once.
    await expect.poll(() => out.writes).toBe(1);
    const printed = out.text.trimEnd().split("\n");
    expect(printed).toHaveLength(101);
    expect(printed[0]).toMatch(/run\.start run 0 n=0$/);
    expect(printed[99]).toMatch(/run\.start run 99 n=99$/);
    expect(printed[100]).toMatch(/\[Hello\] after them$/);

    // A host that exits in the same turn as it logs (process.exit) still prints the lines.
    const script = path.join(root, "exit.mts");
    fs.writeFileSync(
      script,
      `import { createLogs } from ${JSON.stringify(path.resolve("runtime/logging/create-logs.ts"))};
import { resolveLoggingOptions } from ${JSON.stringify(path.resolve("runtime/logging/logging-options.ts"))};
const logs = await createLogs(resolveLoggingOptions({}, ${JSON.stringify(path.join(root, "child"))}), { console: true });
logs.host.info({ event: "host.stop" }, "last words");
process.exit(3);
`,
    );
    const child = spawnSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8" });
    expect(child.status, child.stderr).toBe(3);
    expect(child.stdout).toMatch(/host\.stop last words\n$/);
  });

  it("falls back to the console, without throwing, when the directory cannot be created", async () => {
    fs.writeFileSync(path.join(root, "not-a-dir"), "");
    const out = fakeStdout();
    const logs = await start({ directory: "not-a-dir/logs" }, { stdout: out as unknown as NodeJS.WriteStream });
    logs.task("Hello", "info", "still shown");
    logs.host.info({ event: "host.start" }, "host started");
    await logs.close();
    await logs.close();
    expect(out.text).toMatch(/warn  logs\.unwritable .*not-a-dir/);
    expect(out.text.match(/logs\.unwritable/g)).toHaveLength(1);
    expect(out.text).toContain("[Hello] still shown");
    expect(out.text).toContain("host.start host started");
  });

  it("is safe to close twice and drops file writes after close", async () => {
    const logs = await start({});
    logs.task("T", "info", "kept");
    await logs.close();
    await logs.close();
    expect(() => logs.task("T", "info", "late")).not.toThrow();
    expect(() => logs.host.info({ event: "late" }, "late")).not.toThrow();
    expect(read("tasks.log")).not.toContain("late");
  });
});

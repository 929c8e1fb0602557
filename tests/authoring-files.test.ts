import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskAuthoring } from "../runtime/authoring/task-authoring.ts";
import { OWN_SCRIPTS, ScriptCatalog } from "../runtime/authoring/script-catalog.ts";
import { parseTaskFile } from "../runtime/task-file/parse-task-file.ts";
import { REPO } from "./support/temp-project.ts";
import { commandWorks } from "./support/command-works.ts";

const run = promisify(execFile);

async function refusal(promise: Promise<unknown>): Promise<{ code?: string; field?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return { code: (error as { code?: string }).code, field: (error as { field?: string }).field, message: (error as Error).message };
  }
  throw new Error("it was accepted");
}

describe("task files written from a form", () => {
  let root: string;
  let outside: string;
  let authoring: TaskAuthoring;
  const tasks = () => path.join(root, "tasks");

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "th-authoring-"));
    outside = await mkdtemp(path.join(os.tmpdir(), "th-outside-"));
    await mkdir(path.join(root, "scripts", "etl"), { recursive: true });
    await mkdir(path.join(root, "tools"), { recursive: true });
    await mkdir(tasks(), { recursive: true });
    await writeFile(path.join(root, "scripts", "report.py"), 'import sys\nprint("report for", sys.argv[1])\n');
    await writeFile(path.join(root, "scripts", "etl", "load.sh"), 'echo "load $1"\n');
    await writeFile(path.join(root, "scripts", "README.md"), "not a script\n");
    await writeFile(path.join(root, "tools", "sync"), "#!/bin/sh\necho sync\n");
    await chmod(path.join(root, "tools", "sync"), 0o755);
    await writeFile(path.join(outside, "steal.sh"), "echo stolen\n");
    await symlink(path.join(outside, "steal.sh"), path.join(root, "scripts", "linked.sh"));
    await symlink(outside, path.join(tasks(), "escape"));
    authoring = new TaskAuthoring({
      projectRoot: root,
      tasksDir: tasks,
      scriptDirs: () => [path.join(root, "scripts"), path.join(root, "tools")],
      defaultZone: () => "Europe/Paris",
    });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it("lists the scripts of the allowed folders: known kinds and executables, no links", async () => {
    const { folders, scripts } = await authoring.scripts();
    expect(folders).toEqual(["scripts", "tools"]);
    expect(scripts.map((s) => `${s.path}:${s.runner}`)).toEqual(["scripts/etl/load.sh:bash", "scripts/report.py:python3", "tools/sync:executable"]);
  });

  it("does not offer taskhost's own scripts, which share scripts/ with the project's when the project is taskhost's folder", async () => {
    const own = new ScriptCatalog(REPO, [path.join(REPO, "scripts")]);
    const listed = (await own.list()).map((s) => s.path.split("/")[1]);
    // Each is there to leave out (no stale name), and none is offered (a project's own scripts beside them are).
    const present = await readdir(path.join(REPO, "scripts"));
    expect([...OWN_SCRIPTS].filter((name) => !present.includes(name))).toEqual([]);
    expect(listed.filter((name) => OWN_SCRIPTS.has(name!))).toEqual([]);
    // Still a script a task may name.
    expect((await own.resolve("scripts/check-overdue.sh")).runner).toBe("bash");
  });

  it("writes a task the loader reads as the form said, and never over an existing one", async () => {
    const doc = await authoring.create({
      id: "reports/nightly",
      script: "scripts/report.py",
      args: ["--format", "csv"],
      cron: "0 2 * * *",
      timeout: "600",
      retries: 2,
      timezone: "America/New_York",
      start: "2026-12-01T00:00",
      overlap: "queue",
    });
    expect(doc).toMatchObject({ id: "reports/nightly", file: "tasks/reports/nightly.ts", schedules: [{ key: "run", expression: 'cron("0 2 * * *")', text: "at 02:00 (cron 0 2 * * *)" }] });
    const source = await readFile(path.join(tasks(), "reports", "nightly.ts"), "utf8");
    expect(source).toBe(doc.source);
    const { meta } = parseTaskFile(source, doc.file, { zone: "UTC" });
    expect(meta).toMatchObject({ title: "Nightly", timeoutSec: 600, retryCount: 2, overlap: "queue", timezone: "America/New_York", startDate: Date.parse("2026-12-01T05:00:00Z") });
    expect(source).toContain('args: [ctx.scheduledFor.toISOString(), "--format", "csv"]');
    expect(await refusal(authoring.create({ id: "reports/nightly", script: "scripts/report.py" }))).toMatchObject({ code: "ERR_CONFLICT" });
    expect(await readFile(path.join(tasks(), "reports", "nightly.ts"), "utf8")).toBe(source);
  });

  it("refuses ids and scripts that lead anywhere else, and bad values, writing nothing", async () => {
    for (const id of ["../x", "a/../../x", "/etc/x", "_private", ".hidden", "a b", "example_x.test", "example_demo", ""]) {
      expect(await refusal(authoring.create({ id, script: "scripts/report.py" })), id).toMatchObject({ code: "ERR_BAD_REQUEST", field: "id" });
    }
    expect(await refusal(authoring.create({ id: "escape/x", script: "scripts/report.py" }))).toMatchObject({ code: "ERR_TASK_OUTSIDE_DIR" });
    for (const script of ["/etc/passwd", "scripts/../../etc/passwd", "scripts/linked.sh", "scripts/README.md", "config/config.yaml", "scripts/nope.py"]) {
      expect(await refusal(authoring.create({ id: "x", script })), script).toMatchObject({ code: "ERR_BAD_REQUEST", field: "script" });
    }
    expect(await refusal(authoring.create({ id: "x", script: "scripts/report.py", every: "5 fortnights" }))).toMatchObject({ field: "schedule", message: expect.stringContaining("not a unit") });
    expect(await refusal(authoring.create({ id: "x", script: "scripts/report.py", cron: "0 0 * *" }))).toMatchObject({ code: "ERR_SCHEDULE_INVALID", field: "schedule" });
    expect(await refusal(authoring.create({ id: "x", script: "scripts/report.py", retries: -1 }))).toMatchObject({ field: "retries", message: expect.stringContaining('"retry_count" must be a whole number >= 0') });
    expect(await refusal(authoring.create({ id: "x", script: "scripts/report.py", start: "2026-12-02", end: "2026-12-01" }))).toMatchObject({ field: "end" });
    expect(await refusal(authoring.create({ id: "x", script: "scripts/report.py", cron: "* * * * *", every: "minute" }))).toMatchObject({ field: "schedule", code: "ERR_BAD_FLAGS" });
    // A key the form does not have is refused, not dropped (the task would be written without it).
    expect(await refusal(authoring.create({ id: "x", script: "scripts/report.py", retry_count: 3 } as never))).toMatchObject({
      code: "ERR_BAD_REQUEST",
      field: "retry_count",
      message: expect.stringContaining('the form calls it "retries"'),
    });
    expect(await refusal(authoring.create({ id: "x", script: "scripts/report.py", bogus: 1 } as never))).toMatchObject({ field: "bogus", message: expect.stringContaining("the fields are id, script") });
    const { scripts } = await authoring.scripts();
    expect(scripts.length).toBe(3);
    expect((await authoring.trash()).length).toBe(0);
    await expect(readFile(path.join(outside, "x.ts"))).rejects.toThrow();
    await expect(readFile(path.join(tasks(), "x.ts"))).rejects.toThrow();
  });

  it("edits only when the file is still the version the page read, and deletes to the trash and back", async () => {
    const doc = await authoring.create({ id: "sync", script: "tools/sync", every: "10 minutes" });
    const edited = await authoring.edit("sync", doc.version, { fields: { timeout: 30 }, schedules: { run: "every(20).minutes" } });
    expect(edited.schedules[0]).toMatchObject({ expression: "every(20).minutes" });
    // Someone saves the file in an editor meanwhile: the page's version is stale.
    await writeFile(path.join(tasks(), "sync.ts"), `${edited.source}// a hand edit\n`);
    expect(await refusal(authoring.edit("sync", edited.version, { fields: { timeout: 40 } }))).toMatchObject({ code: "ERR_CONFLICT" });
    expect(await refusal(authoring.remove("sync", edited.version))).toMatchObject({ code: "ERR_CONFLICT" });
    const fresh = await authoring.show("sync");
    expect(fresh.source.endsWith("// a hand edit\n")).toBe(true);
    const trashed = await authoring.remove("sync", fresh.version);
    expect(trashed.id).toBe("sync");
    await expect(readFile(path.join(tasks(), "sync.ts"))).rejects.toThrow();
    expect((await authoring.trash()).map((t) => t.id)).toEqual(["sync"]);
    // A new task took the id meanwhile: restoring must not overwrite it.
    await authoring.create({ id: "sync", script: "scripts/report.py" });
    expect(await refusal(authoring.restore(trashed.name))).toMatchObject({ code: "ERR_CONFLICT" });
    const again = await authoring.show("sync");
    await authoring.remove("sync", again.version);
    const back = await authoring.restore(trashed.name);
    expect(back.source).toBe(fresh.source);
    expect(await refusal(authoring.restore("../../etc/passwd~20260101T000000000Z.ts"))).toMatchObject({ code: "ERR_NOT_FOUND" });
  });

  it("edits, deletes and restores a hand-named task whose id a form could not give (a dot, a space), and still refuses ids that lead out", async () => {
    for (const id of ["report.v2", "team a/my task"]) {
      const created = await authoring.create({ id: "named", script: "scripts/report.py", every: "10 minutes" });
      await authoring.remove("named", created.version);
      await mkdir(path.dirname(path.join(tasks(), `${id}.ts`)), { recursive: true });
      await writeFile(path.join(tasks(), `${id}.ts`), created.source);
      const shown = await authoring.show(id);
      const edited = await authoring.edit(id, shown.version, { fields: { timeout: 45 } });
      expect(edited.fields).toMatchObject({ timeout: 45 });
      const trashed = await authoring.remove(id, edited.version);
      expect((await authoring.trash()).map((t) => t.id)).toContain(id);
      expect((await authoring.restore(trashed.name)).fields).toMatchObject({ timeout: 45 });
    }
    for (const id of ["../x", "a/../../x", "/etc/x", "a//b", "a/./b", " ", "x\u0000y", "a\\..\\b", "_private", ".hidden/x"]) {
      expect(await refusal(authoring.show(id)), id).toMatchObject({ code: "ERR_BAD_REQUEST", field: "id" });
    }
    expect(await refusal(authoring.show("escape/x"))).toMatchObject({ code: "ERR_TASK_OUTSIDE_DIR" });
  });

  it("writes files that pass the project's strict type-check (npm run typecheck)", async () => {
    await authoring.create({ id: "checked/py", script: "scripts/report.py", args: ["it's", 'a "quoted" arg'], every: "day at 06:30" });
    await authoring.create({ id: "checked/sh", script: "scripts/etl/load.sh", schedule: 'once("2027-01-01T00:00")' });
    await authoring.create({ id: "checked/manual", script: "tools/sync" });
    // A value cannot close the frontmatter's comment: whatever followed would be code.
    const sneaky = await authoring.create({ id: "checked/sneaky", script: "tools/sync", title: 'x */ process.exit(1); /*', description: "a\n---\n*/" });
    expect(sneaky.source.split("*/")).toHaveLength(2);
    expect(sneaky.fields).toMatchObject({ title: "x */ process.exit(1); /*", description: "a\n---\n*/" });
    const edited = await authoring.show("checked/py");
    await authoring.edit("checked/py", edited.version, { schedules: { run: 'cron("*/5 * * * *")' } });
    // The project is an ES module package, like a taskhost project.
    await writeFile(path.join(root, "package.json"), JSON.stringify({ type: "module" }));
    const tsconfig = path.join(root, "tsconfig.json");
    await writeFile(
      tsconfig,
      JSON.stringify({
        extends: path.join(REPO, "tsconfig.json"),
        compilerOptions: {
          typeRoots: [path.join(REPO, "node_modules", "@types")],
          paths: { taskhost: [path.join(REPO, "runtime/api/index.ts")], "taskhost/helpers": [path.join(REPO, "helpers/index.ts")] },
        },
        include: ["tasks/checked/**/*.ts"],
      }),
    );
    const result = await run(process.execPath, [path.join(REPO, "node_modules", "typescript", "bin", "tsc"), "-p", tsconfig], { cwd: root }).catch((error: { stdout: string }) => error);
    expect((result as { stdout: string }).stdout).toBe("");
  }, 120_000);
});

describe("a tasks folder the host may not write", () => {
  // A read-only bind mount in a mount namespace of its own, as the systemd unit's sandbox makes one
  // (root ignores file modes, so chmod would not do): only where `unshare -m` is allowed.
  const canUnshare = commandWorks("unshare", ["-m", "true"]);

  it.skipIf(!canUnshare)("says which folder, why, and what to do, instead of a bare EROFS", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), "th-authoring-ro-"));
    try {
      await mkdir(path.join(root, "tasks"));
      const script = `
        import { TaskFiles } from ${JSON.stringify(path.join(REPO, "runtime/authoring/task-files.ts"))};
        try { await new TaskFiles(process.argv[1]).create("report", "export default class {}\\n"); console.log("written"); }
        catch (error) { console.log(JSON.stringify({ code: error.code, message: error.message })); }
      `;
      const dir = path.join(root, "tasks");
      const { stdout } = await run("unshare", [
        "-m", "sh", "-c", 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && exec "$2" --import tsx --input-type=module -e "$3" "$1"',
        "sh", dir, process.execPath, script,
      ], { cwd: REPO });
      const result = JSON.parse(stdout) as { code: string; message: string };
      expect(result.code).toBe("ERR_FORBIDDEN");
      expect(result.message).toContain(`the host cannot write its tasks folder ${dir} (EROFS: a read-only file system)`);
      expect(result.message).toMatch(/--writable-tasks .*dashboard\.enabled: true/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

// The `taskhost` module as task files use it: builders, @repeat/@once as TC39
// decorators compiled by esbuild (as the host bundles tasks), readSchedules,
// and validateSpec for specs that come back as JSON.
import { afterAll, describe, expect, it } from "vitest";
import { build } from "esbuild";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { cron, every, readSchedules } from "../runtime/api/index.ts";
import { ERR_SCHEDULE_INVALID } from "../runtime/schedule/schedule-errors.ts";
import { validateSpec } from "../runtime/schedule/validate-spec.ts";

const API_INDEX = fileURLToPath(new URL("../runtime/api/index.ts", import.meta.url));
const dirs: string[] = [];
let counter = 0;

afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Bundles a task source like the host does (taskhost aliased to the api) and imports it. */
async function compileTask(source: string): Promise<{ default: unknown; [name: string]: unknown }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "taskhost-builders-"));
  dirs.push(dir);
  const entry = path.join(dir, `task${++counter}.ts`);
  const outfile = path.join(dir, `task${counter}.mjs`);
  await writeFile(entry, source);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "silent",
    tsconfigRaw: { compilerOptions: {} },
    plugins: [
      {
        name: "taskhost-alias",
        setup(b) {
          b.onResolve({ filter: /^taskhost$/ }, () => ({ path: API_INDEX }));
        },
      },
    ],
  });
  return import(pathToFileURL(outfile).href);
}

/** The error a task module throws while it is evaluated. */
async function importError(source: string): Promise<Error & { code?: string }> {
  try {
    await compileTask(source);
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error("expected the task module to throw at import");
}

const task = (body: string, imports = "repeat, once, every, cron, type TaskContext") =>
  `import { ${imports} } from "taskhost";\n${body}\n`;

describe("decorated task classes (compiled by esbuild)", () => {
  it("records every schedule with its method and key, in source order", async () => {
    const mod = await compileTask(
      task(`
export default class {
  @repeat(every(5).minutes)
  async start(ctx: TaskContext) { ctx.log.info("tick"); }

  @repeat(every().monday.at("09:00"))
  async weekly(_ctx: TaskContext) {}

  @repeat(every().hour.at(":15"))
  @repeat(cron("0 9 * * 1-5"))
  @once("2026-12-01T09:00")
  async multi() {}

  helper() { return 1; }
}`),
    );
    expect(readSchedules(mod.default)).toEqual([
      { method: "start", key: "start", spec: { kind: "every", unit: "minute", n: 5, offsetSec: 0 } },
      { method: "weekly", key: "weekly", spec: { kind: "weekly", weekday: 1, offsetSec: 9 * 3600 } },
      { method: "multi", key: "multi", spec: { kind: "every", unit: "hour", n: 1, offsetSec: 900 } },
      { method: "multi", key: "multi:2", spec: { kind: "cron", expr: "0 9 * * 1-5" } },
      { method: "multi", key: "multi:3", spec: { kind: "once", at: "2026-12-01T09:00" } },
    ]);
    // The methods stay callable as written.
    const Task = mod.default as new () => { helper(): number };
    expect(new Task().helper()).toBe(1);
  });

  it("inherits a parent's schedules, lets an override replace them, and leaves the parent intact", async () => {
    const mod = await compileTask(
      task(`
export class Base {
  @repeat(every().hour) async a() {}
  @repeat(every().day) async b() {}
}
export default class extends Base {
  @repeat(every(10).minutes) override async b() {}
  @repeat(every().second) async c() {}
}`),
    );
    expect(readSchedules(mod.Base).map((s) => `${s.key}=${s.spec.kind === "every" ? s.spec.unit : "?"}`)).toEqual([
      "a=hour",
      "b=day",
    ]);
    expect(readSchedules(mod.default)).toEqual([
      { method: "a", key: "a", spec: { kind: "every", unit: "hour", n: 1, offsetSec: 0 } },
      { method: "b", key: "b", spec: { kind: "every", unit: "minute", n: 10, offsetSec: 0 } },
      { method: "c", key: "c", spec: { kind: "every", unit: "second", n: 1, offsetSec: 0 } },
    ]);
  });

  it("gives [] for classes without schedules and for non-classes", async () => {
    const mod = await compileTask(task(`export default class { run() {} }`, "every"));
    expect(readSchedules(mod.default)).toEqual([]);
    expect(readSchedules(undefined)).toEqual([]);
    expect(readSchedules({})).toEqual([]);
  });

  it.each([
    ["every(0).minutes", `@repeat(every(0).minutes) m() {}`, /every\(0\)\.minutes is invalid: n must be a positive integer/],
    ["every(1.5).hours", `@repeat(every(1.5).hours) m() {}`, /every\(1\.5\)\.hours is invalid: n must be a positive integer/],
    ["every(5).minute", `@repeat(every(5).minute) m() {}`, /every\(5\)\.minute is invalid: use \.minutes/],
    ["every(2).monday", `@repeat(every(2).monday) m() {}`, /every\(2\)\.monday is invalid: a weekday takes no count/],
    ["every(25).hours", `@repeat(every(25).hours) m() {}`, /every\(25\)\.hours is invalid: .*at most 24/],
    ["every(2).weeks", `@repeat((every(2) as any).weeks) m() {}`, /every\(2\)\.weeks is invalid: weeks are not a unit of every\(\): .*every\(14\)\.days/],
    ["every().month", `@repeat((every() as any).month) m() {}`, /every\(\)\.month is invalid: months are not a unit of every\(\): write cron\("0 9 1 \* \*"\)/],
    ["every(5).minutes.at", `@repeat(every(5).minutes.at(":30")) m() {}`, /every\(5\)\.minutes\.at\(":30"\) is invalid/],
    ["every().seconds.at", `@repeat(every().seconds.at(":30")) m() {}`, /every\(\)\.seconds\.at\(":30"\) is invalid/],
    ["bad day time", `@repeat(every().day.at("24:00")) m() {}`, /every\(\)\.day\.at\("24:00"\) is invalid: the hour must be 00-23/],
    ["bad hour mark", `@repeat(every().hour.at("15")) m() {}`, /every\(\)\.hour\.at\("15"\) is invalid: write \.at\(":MM"\)/],
    ["bad cron", `@repeat(cron("61 * * * *")) m() {}`, /cron\("61 \* \* \* \*"\) is invalid: .*minute/],
    ["7-field cron", `@repeat(cron("0 0 0 * * * 2030")) m() {}`, /cron\("0 0 0 \* \* \* 2030"\) is invalid/],
    ["bad once", `@once("2026-02-30T09:00") m() {}`, /once\("2026-02-30T09:00"\) is invalid: day must be 01-28/],
    ["bare @repeat", `@repeat m() {}`, /@repeat needs a schedule/],
    ["static method", `@repeat(every().hour) static m() {}`, /static method "m"/],
    ["private method", `@repeat(every().hour) #m() {}`, /private method "#m"/],
    ["field", `@repeat(every().hour) m = () => {};`, /can only decorate a method; "m" is a field/],
  ])("%s throws ERR_SCHEDULE_INVALID when the task is imported", async (_name, member, message) => {
    const err = await importError(task(`export default class {\n  ${member}\n}`));
    expect(err.code).toBe(ERR_SCHEDULE_INVALID);
    expect(err.message).toMatch(/^taskhost schedule: /);
    expect(err.message).toMatch(message);
  });
});

describe("builders and validateSpec", () => {
  it("build frozen specs that survive a JSON round trip through validateSpec", () => {
    for (const schedule of [
      every(5).minutes,
      every().minute.at(":30"),
      every(2).hours.at(":15:10"),
      every(3).days.at("06:30"),
      every().friday.at("17:45:05"),
      cron("*/10 * * * * *"),
    ]) {
      expect(Object.isFrozen(schedule.spec)).toBe(true);
      expect(validateSpec(JSON.parse(JSON.stringify(schedule.spec)))).toEqual(schedule.spec);
    }
    expect(every().friday.at("17:45:05").spec).toEqual({ kind: "weekly", weekday: 5, offsetSec: 17 * 3600 + 45 * 60 + 5 });
  });

  it("do not let .at be given twice", () => {
    expect(() => every().day.at("09:00").at("10:00")).toThrow(/already given/);
  });

  it.each([
    [null, /expected an object/],
    [{ kind: "hourly" }, /kind must be/],
    [{ kind: "every", unit: "week", n: 1, offsetSec: 0 }, /unit must be/],
    [{ kind: "every", unit: "minute", n: 0, offsetSec: 0 }, /n must be a positive integer/],
    [{ kind: "every", unit: "minute", n: 5, offsetSec: 300 }, /offsetSec must be an integer in \[0, 300\)/],
    [{ kind: "every", unit: "day", n: 2, offsetSec: 86_400 }, /offsetSec must be an integer in \[0, 86400\)/],
    [{ kind: "weekly", weekday: 7, offsetSec: 0 }, /weekday must be/],
    [{ kind: "cron", expr: "* * *" }, /cron\("\* \* \*"\) is invalid/],
    [{ kind: "once", at: "tomorrow" }, /once\("tomorrow"\) is invalid/],
  ])("validateSpec rejects %j", (value, message) => {
    let caught: (Error & { code?: string }) | undefined;
    try {
      validateSpec(value);
    } catch (err) {
      caught = err as Error & { code?: string };
    }
    expect(caught?.code).toBe(ERR_SCHEDULE_INVALID);
    expect(caught?.message).toMatch(message);
  });

  it("validateSpec drops unknown keys", () => {
    expect(validateSpec({ kind: "once", at: "2026-12-01T09:00Z", extra: 1 })).toEqual({ kind: "once", at: "2026-12-01T09:00Z" });
  });
});

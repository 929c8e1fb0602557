import { describe, expect, it } from "vitest";
import { editFrontmatter } from "../runtime/authoring/edit-frontmatter.ts";
import { editTaskSource, scheduleSites } from "../runtime/authoring/edit-task-source.ts";
import { findScheduleDecorators } from "../runtime/authoring/schedule-decorators.ts";
import { everyPhraseExpression, parseScheduleExpression } from "../runtime/authoring/schedule-expression.ts";
import { previewSchedule } from "../runtime/authoring/schedule-preview.ts";

const HAND_WRITTEN = `/*
---
title: "Disk report"   # shown in the dashboard
# retries are cheap here
retry_count: 2
dependencies:
  - dayjs@^1.11
---
*/
// A comment with @repeat(every(1).hours) in it, and a string below with one too.
import { repeat, every, type TaskContext } from "taskhost";
const note = "@repeat(cron(\\"0 0 * * *\\"))";
const re = /@once\\(/g;

export default class DiskReport {
  @repeat(every(15).minutes)                 // :00 :15 :30 :45
  async check(ctx: TaskContext) {
    ctx.log.info(\`free: \${note} \${re.source} \${\`nested \${1 + 1}\`}\`);
  }

  @repeat(every().monday.at("09:00"))
  @repeat(cron("0 9 * * 1-5"))
  async summary(ctx: TaskContext) {
    if ((1) / 2 > 0) ctx.log.info("weekdays");
  }
}
`;

describe("schedule text", () => {
  it("reads the builder language with the builders' own checks, and never evaluates it", () => {
    expect(parseScheduleExpression("every(5).minutes")).toMatchObject({ decorator: "repeat", expression: "every(5).minutes", text: "every 5 minutes" });
    expect(parseScheduleExpression(" every().day.at('09:30') ")).toMatchObject({ expression: 'every().day.at("09:30")', text: "every day at 09:30" });
    expect(parseScheduleExpression('cron("*/10 * * * *")').spec).toEqual({ kind: "cron", expr: "*/10 * * * *" });
    expect(parseScheduleExpression('once("2026-12-01T09:00")')).toMatchObject({ decorator: "once", argument: '"2026-12-01T09:00"' });
    expect(() => parseScheduleExpression("every(0).minutes")).toThrow(/n must be a positive integer/);
    expect(() => parseScheduleExpression('cron("61 * * * *")')).toThrow(/Invalid value for minute: 61/);
    expect(() => parseScheduleExpression("every(5).minutes; process.exit(1)")).toThrow(/unexpected ";"/);
    expect(() => parseScheduleExpression("globalThis.x")).toThrow(/must start with every\(, cron\( or once\(/);
    expect(() => parseScheduleExpression('once("next tuesday")')).toThrow(/once/);
    // The right word written as a phrase: the call it should be.
    expect(() => parseScheduleExpression("once 2026-12-24T09:00")).toThrow(/write it as a call, like once\("2026-12-24T09:00"\)/);
    expect(() => parseScheduleExpression("every 5 minutes")).toThrow(/write it as a call, like every\(5\)\.minutes/);
    expect(() => parseScheduleExpression("cron 0 9 * * *")).toThrow(/like cron\("0 9 \* \* \*"\)/);
  });

  it("turns --every phrases into builder text", () => {
    expect(everyPhraseExpression("5 minutes")).toBe("every(5).minutes");
    expect(everyPhraseExpression("minute")).toBe("every().minute");
    expect(everyPhraseExpression("1 hour at :15")).toBe('every().hour.at(":15")');
    expect(everyPhraseExpression("2 days at 06:00")).toBe('every(2).days.at("06:00")');
    expect(everyPhraseExpression("monday at 08:30")).toBe('every().monday.at("08:30")');
    expect(() => everyPhraseExpression("5 fortnights")).toThrow(/not a unit/);
  });

  it("previews the next occurrences with the host's maths, in the schedule's zone (DST included)", () => {
    const from = Date.parse("2026-03-07T12:00:00Z");
    const preview = previewSchedule({ schedule: 'cron("30 2 * * *")', timezone: "America/New_York", count: 3, from }, "UTC");
    expect(preview.zone).toBe("America/New_York");
    // 02:30 does not exist on the spring-forward day: it runs once, at 03:00.
    expect(preview.occurrences.map((o) => o.local)).toEqual([
      "Sun 2026-03-08 03:00:00 -04:00",
      "Mon 2026-03-09 02:30:00 -04:00",
      "Tue 2026-03-10 02:30:00 -04:00",
    ]);
    const windowed = previewSchedule({ schedule: "every().day", start: "2026-04-01", end: "2026-04-02T12:00", count: 5, from }, "Europe/Paris");
    expect(windowed.occurrences.map((o) => o.at)).toEqual(["2026-03-31T22:00:00.000Z", "2026-04-01T22:00:00.000Z"]);
    expect(() => previewSchedule({ schedule: "every().day", timezone: "Mars/Olympus" }, "UTC")).toThrow(/^frontmatter field "timezone" must be an IANA time zone/);
  });
});

describe("finding schedule decorators", () => {
  it("skips comments, strings, templates and regular expressions, and numbers decorators per method", () => {
    const sites = findScheduleDecorators(HAND_WRITTEN);
    expect(sites.map((s) => [s.key, s.decorator, s.argument])).toEqual([
      ["check", "repeat", "every(15).minutes"],
      ["summary", "repeat", 'every().monday.at("09:00")'],
      ["summary:2", "repeat", 'cron("0 9 * * 1-5")'],
    ]);
    expect(HAND_WRITTEN.slice(sites[0]!.start, sites[0]!.end)).toBe("@repeat(every(15).minutes)");
  });

  it("reads a bare --- frontmatter as no code", () => {
    const bare = `---\ntitle: "@repeat(every(1).hours)"\n---\nimport { once } from "taskhost";\nexport default class { @once("2026-12-01T09:00") go() {} }\n`;
    expect(scheduleSites(bare, "tasks/b.ts").map((s) => [s.key, s.expression])).toEqual([["go", 'once("2026-12-01T09:00")']]);
  });
});

describe("editing a task file in place", () => {
  it("changes only the values it is given: comments, order and the rest stay byte for byte", () => {
    const out = editFrontmatter(HAND_WRITTEN, "tasks/disk.ts", { retry_count: 5, timeout: 90, title: null });
    expect(out).toContain("# retries are cheap here\nretry_count: 5\ndependencies:\n  - dayjs@^1.11\ntimeout: 90\n---");
    expect(out).not.toContain("Disk report");
    expect(out.slice(out.indexOf("*/"))).toBe(HAND_WRITTEN.slice(HAND_WRITTEN.indexOf("*/")));
  });

  it("replaces one decorator's argument, imports what the new schedule needs, and leaves the rest alone", () => {
    const out = editTaskSource(HAND_WRITTEN, "tasks/disk.ts", { schedules: { "summary:2": 'cron("0 10 * * 1-5")', check: "every(10).minutes" } }, "UTC");
    expect(out).toBe(
      HAND_WRITTEN.replace('@repeat(cron("0 9 * * 1-5"))', '@repeat(cron("0 10 * * 1-5"))')
        .replace("@repeat(every(15).minutes)", "@repeat(every(10).minutes)")
        .replace("import { repeat, every, type TaskContext }", "import { repeat, every, cron, type TaskContext }"),
    );
    const once = editTaskSource(HAND_WRITTEN, "tasks/disk.ts", { schedules: { check: 'once("2027-01-01T00:00")' } }, "UTC");
    expect(once).toContain('  @once("2027-01-01T00:00")                 // :00 :15 :30 :45\n');
    expect(once).toContain("import { repeat, every, once, type TaskContext }");
  });

  it("refuses a bad value before it reaches the file, naming the field and the loader's reason", () => {
    const refused = (edit: Parameters<typeof editTaskSource>[2]) => {
      try {
        editTaskSource(HAND_WRITTEN, "tasks/disk.ts", edit, "UTC");
      } catch (error) {
        return { field: (error as { field?: string }).field, code: (error as { code?: string }).code, message: (error as Error).message };
      }
      throw new Error("accepted");
    };
    expect(refused({ fields: { timeout: -5 } })).toEqual({
      field: "timeout",
      code: "ERR_TASK_FRONTMATTER",
      message: 'tasks/disk.ts:8: frontmatter field "timeout" must be a number of seconds > 0, got -5',
    });
    expect(refused({ fields: { catch_up: "sometimes" } })).toMatchObject({ field: "catchUp", message: expect.stringContaining("one of once, skip, all") });
    expect(refused({ fields: { timout: 5 } })).toMatchObject({ field: "timout", message: expect.stringContaining("not a frontmatter field") });
    expect(refused({ fields: { dependencies: ["evil-pkg"], allow_scripts: true } })).toMatchObject({ field: "dependencies", message: expect.stringContaining("changed in the file itself") });
    expect(refused({ schedules: { check: 'cron("0 25 * * *")' } })).toMatchObject({ field: "schedule:check", code: "ERR_SCHEDULE_INVALID" });
    expect(refused({ schedules: { nope: "every().hour" } })).toMatchObject({ field: "schedule:nope", code: "ERR_BAD_REQUEST" });
  });
});

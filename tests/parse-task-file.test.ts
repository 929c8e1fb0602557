import { describe, expect, it } from "vitest";
import {
  checkNodeVersion,
  dependencySpecProblem,
  ERR_TASK_FRONTMATTER,
  ERR_TASK_NODE_VERSION,
  parseTaskFile,
  TaskFileError,
} from "../runtime/task-file/parse-task-file.ts";

const FILE = "tasks/hello.ts";
const BODY = 'export default class {\n  run() {}\n}\n';

/** A comment-form task file with these frontmatter lines (the first YAML line is file line 3). */
const commented = (...yaml: string[]) => `/*\n---\n${yaml.join("\n")}\n---\n*/\n${BODY}`;
/** A bare-form task file (the first YAML line is file line 2). */
const bare = (...yaml: string[]) => `---\n${yaml.join("\n")}\n---\n${BODY}`;

function errorOf(source: string, zone?: string): TaskFileError {
  try {
    parseTaskFile(source, FILE, { zone });
  } catch (err) {
    expect(err).toBeInstanceOf(TaskFileError);
    return err as TaskFileError;
  }
  throw new Error(`expected an error for:\n${source}`);
}

describe("frontmatter forms", () => {
  it("no frontmatter: every default, title from the file name, code untouched", () => {
    const source = `import x from "y";\n${BODY}`;
    const parsed = parseTaskFile(source, "tasks/reports/daily.ts");
    expect(parsed.code).toBe(source);
    expect(parsed.warnings).toEqual([]);
    expect(parsed.meta).toEqual({
      title: "daily",
      description: "",
      dependencies: [],
      enabled: true,
      timeoutSec: 300,
      retryCount: 0,
      retryDelaySec: 60,
      catchUp: "once",
      overlap: "skip",
      timezone: null,
      startDate: null,
      endDate: null,
      nodeVersion: null,
      memoryLimitMb: 512,
      allowScripts: false,
      notifyOnFailure: null,
      alerts: null,
      pingUrl: null,
      isolation: null,
    });
    expect(Object.isFrozen(parsed.meta)).toBe(true);
    expect(Object.isFrozen(parsed.meta.dependencies)).toBe(true);
  });

  it("an ordinary leading comment is not frontmatter", () => {
    const source = `/*\n * Some notes.\n * ---\n */\n${BODY}`;
    expect(parseTaskFile(source, FILE).meta.title).toBe("hello");
  });

  it("comment form, as in the contract", () => {
    const source = commented('title: "Hello World"', 'dependencies: ["dayjs@^1.11"]', "timeout: 60");
    const parsed = parseTaskFile(source, FILE);
    expect(parsed.meta).toMatchObject({ title: "Hello World", dependencies: ["dayjs@^1.11"], timeoutSec: 60 });
    // The comment is valid TypeScript: the code is the source as is.
    expect(parsed.code).toBe(source);
  });

  it("comment form after blank lines, /** and `/* ---` openers, `--- */` closer", () => {
    expect(parseTaskFile(`\n\n  \n/*\n---\ntitle: A\n---\n*/\n${BODY}`, FILE).meta.title).toBe("A");
    expect(parseTaskFile(`/**\n---\ntitle: B\n---\n */\n${BODY}`, FILE).meta.title).toBe("B");
    expect(parseTaskFile(`/* ---\ntitle: C\n---\n*/\n${BODY}`, FILE).meta.title).toBe("C");
    expect(parseTaskFile(`/*\n---\ntitle: D\n--- */\n${BODY}`, FILE).meta.title).toBe("D");
    expect(parseTaskFile(`/*\n---\r\ntitle: E\r\n---\r\n*/\r\n${BODY}`, FILE).meta.title).toBe("E");
  });

  it("bare form: parsed, and its lines blanked so the code keeps its line numbers", () => {
    const source = bare("title: Bare", "retry_count: 2");
    const parsed = parseTaskFile(source, FILE);
    expect(parsed.meta).toMatchObject({ title: "Bare", retryCount: 2 });
    expect(parsed.code.split("\n").length).toBe(source.split("\n").length);
    expect(parsed.code).toBe(`\n\n\n\n${BODY}`);
    expect(parsed.code).not.toContain("---");
  });

  it("bare form with CRLF line endings keeps them", () => {
    const source = "---\r\ntitle: X\r\n---\r\nexport default class {}\r\n";
    const parsed = parseTaskFile(source, FILE);
    expect(parsed.meta.title).toBe("X");
    expect(parsed.code).toBe("\r\n\r\n\r\nexport default class {}\r\n");
  });

  it("empty frontmatter is all defaults", () => {
    expect(parseTaskFile("---\n---\n" + BODY, FILE).meta.timeoutSec).toBe(300);
    expect(parseTaskFile("/*\n---\n# just a comment\n---\n*/\n" + BODY, FILE).meta.title).toBe("hello");
  });

  it("an unclosed block is an error at its opening line", () => {
    const e1 = errorOf(`---\ntitle: x\n${BODY}`);
    expect(e1.message).toBe('tasks/hello.ts:1: the frontmatter opened with "---" is never closed; add a "---" line after it');
    expect(e1.code).toBe(ERR_TASK_FRONTMATTER);
    const e2 = errorOf(`\n/*\n---\ntitle: x\n*/\n${BODY}`);
    expect(e2.message).toMatch(/^tasks\/hello\.ts:3: the frontmatter opened with "---" is never closed/);
    expect(e2.line).toBe(3);
  });
});

describe("line numbers", () => {
  it("field errors point at the field's line, in both forms", () => {
    const e1 = errorOf(commented("title: ok", "", "timeout: abc"));
    expect(e1.message).toBe('tasks/hello.ts:5: frontmatter field "timeout" must be a number of seconds > 0, got "abc"');
    expect(e1).toMatchObject({ file: FILE, line: 5, column: 10, field: "timeout", code: ERR_TASK_FRONTMATTER });
    const e2 = errorOf(bare("title: ok", "timeout: abc"));
    expect(e2.line).toBe(3);
    expect(e2.message.startsWith("tasks/hello.ts:3: ")).toBe(true);
  });

  it("every wrong field is reported at once, a line each, placed at the first", () => {
    const e = errorOf(commented("title: ok", 'timeout: "ten"', "retry_count: 1", "overlap: sometimes", "timezone: Mars/Olympus"));
    expect(e.message.split("\n")).toEqual([
      'tasks/hello.ts:4: frontmatter field "timeout" must be a number of seconds > 0, got "ten"',
      'tasks/hello.ts:6: frontmatter field "overlap" must be one of skip, queue, allow, replace, got "sometimes"',
      'tasks/hello.ts:7: frontmatter field "timezone" must be an IANA time zone name like "Europe/Paris" or "UTC" (leave it out to use scheduler.timezone), got "Mars/Olympus"',
    ]);
    expect(e).toMatchObject({ line: 4, field: "timeout" });
  });

  it("YAML syntax errors are reported at the file's line", () => {
    const e = errorOf(commented("title: ok", "dependencies: [dayjs", "timeout: 5"));
    // The parser notices the unclosed `[` on the next line; the report points at the bracket.
    expect(e.message).toMatch(/^tasks\/hello\.ts:4: frontmatter is not valid YAML: the \[ here is not closed \(Flow sequence/);
    expect(e).toMatchObject({ line: 4, column: 15 });
    const quoted = errorOf(commented("title: 'a [ b'", "dependencies: {a: 1, b: [2]  # a { in a comment", "timeout: 5"));
    expect(quoted.line).toBe(4);
    // An unclosed quote too, noticed only at the end of the block.
    const quote = errorOf(commented("title: ok", 'description: "a report', "timeout: 5", "retry_count: 1"));
    expect(quote.message).toMatch(/^tasks\/hello\.ts:4: frontmatter is not valid YAML: the " here is not closed/);
    expect(quote).toMatchObject({ line: 4, column: 14 });
    const indent = errorOf(bare("title: ok", "timeout: 5: 6"));
    expect(indent.message).toMatch(/^tasks\/hello\.ts:3: frontmatter is not valid YAML: /);
    const dup = errorOf(bare("title: a", "title: b"));
    expect(dup.message).toMatch(/^tasks\/hello\.ts:3: frontmatter is not valid YAML: Map keys must be unique/);
  });

  it("unknown fields are warnings with their line and a suggestion", () => {
    const parsed = parseTaskFile(commented("title: ok", "timout: 5", "colour: red"), FILE);
    expect(parsed.meta.timeoutSec).toBe(300);
    expect(parsed.warnings).toEqual([
      {
        file: FILE,
        line: 4,
        column: 9,
        field: "timout",
        message: 'tasks/hello.ts:4: unknown frontmatter field "timout" is ignored (did you mean "timeout"?)',
      },
      { file: FILE, line: 5, column: 9, field: "colour", message: 'tasks/hello.ts:5: unknown frontmatter field "colour" is ignored' },
    ]);
    expect(parseTaskFile(bare("retryCount: 2"), FILE).warnings[0].message).toContain('did you mean "retry_count"?');
    // Other schedulers' names (and `taskhost new --retries`), too far from the field to be a misspelling.
    expect(parseTaskFile(bare("retries: 2"), FILE).warnings[0].message).toContain('did you mean "retry_count"?');
    expect(parseTaskFile(bare("max-retries: 2"), FILE).warnings[0].message).toContain('did you mean "retry_count"?');
    expect(parseTaskFile(bare("tz: Europe/Paris"), FILE).warnings[0].message).toContain('did you mean "timezone"?');
  });

  it("frontmatter that is not a mapping", () => {
    expect(errorOf(bare("- a", "- b")).message).toBe('tasks/hello.ts:2: frontmatter must be a list of "field: value" lines (title, timeout, ...)');
  });
});

describe("fields", () => {
  it("reads every field", () => {
    const parsed = parseTaskFile(
      bare(
        "title: Report",
        "description: Daily report",
        "dependencies:",
        "  - dayjs",
        "  - '@scope/name@beta'",
        "enabled: false",
        "timeout: 1.5",
        "retry_count: 3",
        "retry_delay: 0",
        "catch_up: ALL",
        "overlap: replace",
        "timezone: europe/paris",
        "start_date: 2026-12-01T09:00",
        "end_date: 2026-12-31",
        'node_version: ">=20.19"',
        "memory_limit: 256",
        "allow_scripts: true",
        "notify_on_failure: true",
        "isolation: worker",
      ),
      FILE,
    );
    expect(parsed.warnings).toEqual([]);
    expect(parsed.meta).toEqual({
      title: "Report",
      description: "Daily report",
      dependencies: ["dayjs", "@scope/name@beta"],
      enabled: false,
      timeoutSec: 1.5,
      retryCount: 3,
      retryDelaySec: 0,
      catchUp: "all",
      overlap: "replace",
      timezone: "Europe/Paris",
      startDate: Date.UTC(2026, 11, 1, 8, 0), // 09:00 in Paris (UTC+1)
      endDate: Date.UTC(2026, 11, 30, 23, 0), // midnight in Paris
      nodeVersion: ">=20.19",
      memoryLimitMb: 256,
      allowScripts: true,
      notifyOnFailure: true,
      alerts: null,
      pingUrl: null,
      isolation: "worker",
    });
  });

  it("an empty value means the default", () => {
    const parsed = parseTaskFile(bare("title:", "timeout:", "dependencies:"), FILE);
    expect(parsed.meta).toMatchObject({ title: "hello", timeoutSec: 300, dependencies: [] });
  });

  const bad: [string, RegExp][] = [
    ["title: 5", /"title" must be a non-empty string, got 5/],
    ["title: ''", /"title" must be a non-empty string, got ""/],
    ["description: [a]", /"description" must be a string, got a list/],
    ["dependencies: dayjs", /"dependencies" must be a list of npm package specs/],
    ["dependencies: [1]", /"dependencies" must be a list of npm package specs.*item 1 is not a string/],
    ["enabled: yes", /"enabled" must be true or false, got "yes"/],
    ["timeout: 0", /"timeout" must be a number of seconds > 0, got 0/],
    ["timeout: -3", /"timeout" must be a number of seconds > 0/],
    ["timeout: 5m", /"timeout" must be a number of seconds > 0, got "5m"/],
    ["retry_count: -1", /"retry_count" must be a whole number >= 0, got -1/],
    ["retry_count: 1.5", /"retry_count" must be a whole number >= 0/],
    ["retry_delay: -1", /"retry_delay" must be a number of seconds >= 0/],
    ["catch_up: sometimes", /"catch_up" must be one of once, skip, all, got "sometimes"/],
    ["overlap: wait", /"overlap" must be one of skip, queue, allow, replace/],
    ["timezone: Mars/Olympus", /"timezone" must be an IANA time zone name/],
    ["timezone: +02:00", /"timezone" must be an IANA time zone name/],
    ["timezone: local", /"timezone" must be an IANA time zone name/],
    ["start_date: tomorrow", /"start_date" must be an ISO date-time/],
    ["start_date: 2026-13-01", /"start_date" must be an ISO date-time/],
    ["end_date: 12", /"end_date" must be an ISO date-time/],
    ["node_version: banana", /"node_version" must be a semver range/],
    ["node_version: 20.1", /"node_version" must be a semver range in quotes/],
    ["memory_limit: 0", /"memory_limit" must be a whole number of MB > 0/],
    ["memory_limit: 1.5", /"memory_limit" must be a whole number of MB > 0/],
    ["allow_scripts: 'true'", /"allow_scripts" must be true or false, got "true"/],
  ];
  for (const [line, pattern] of bad) {
    it(`refuses ${line}`, () => {
      const e = errorOf(bare("# first line", line));
      expect(e.message).toMatch(pattern);
      expect(e.message.startsWith("tasks/hello.ts:3: frontmatter field ")).toBe(true);
      expect(e).toMatchObject({ line: 3, field: line.split(":")[0], code: ERR_TASK_FRONTMATTER });
    });
  }

  it("integer node_version is a major", () => {
    expect(parseTaskFile(bare("node_version: 20"), FILE).meta.nodeVersion).toBe("20");
  });

  it("dates: offsets, Z, [zone], local strings in the task's zone or the scheduler's", () => {
    const at = (zone: string | undefined, ...yaml: string[]) => parseTaskFile(bare(...yaml), FILE, { zone }).meta;
    expect(at(undefined, "start_date: 2026-06-01T12:00Z").startDate).toBe(Date.UTC(2026, 5, 1, 12));
    expect(at(undefined, "start_date: 2026-06-01T12:00:00+02:00").startDate).toBe(Date.UTC(2026, 5, 1, 10));
    expect(at(undefined, "start_date: 2026-06-01T12:00[America/New_York]").startDate).toBe(Date.UTC(2026, 5, 1, 16));
    // The scheduler's zone when the task has none ...
    expect(at("Asia/Tokyo", "start_date: 2026-06-01T09:00").startDate).toBe(Date.UTC(2026, 5, 1, 0));
    // ... the task's own zone first.
    expect(at("Asia/Tokyo", "timezone: UTC", "start_date: 2026-06-01T09:00").startDate).toBe(Date.UTC(2026, 5, 1, 9));
    // A time skipped by DST is the transition instant, as for schedules (next-run.ts): Paris,
    // 2026-03-29 02:30 does not exist, and 03:00 CEST is where the gap ends.
    expect(at("Europe/Paris", "start_date: 2026-03-29T02:30").startDate).toBe(Date.UTC(2026, 2, 29, 1, 0));
    // A [zone] that does not exist is refused, not read in another zone.
    expect(() => at(undefined, "start_date: 2026-06-01T12:00[Mars/Olympus]")).toThrow(/start_date/);
  });

  it("start_date must not be after end_date (error at end_date)", () => {
    const e = errorOf(bare("start_date: 2026-06-02T00:00Z", "end_date: 2026-06-01T00:00Z"));
    expect(e.message).toBe(
      'tasks/hello.ts:3: frontmatter field "end_date" must be on or after start_date (2026-06-02T00:00:00.000Z), got "2026-06-01T00:00Z"',
    );
    expect(parseTaskFile(bare("start_date: 2026-06-01T00:00Z", "end_date: 2026-06-01T00:00Z"), FILE).meta.endDate).toBe(
      Date.UTC(2026, 5, 1),
    );
  });
});

describe("dependencies", () => {
  for (const spec of ["dayjs", "dayjs@^1.11", "@scope/name@beta", "lodash@4.17.21", "x@latest", "foo@>=1 <2"]) {
    it(`accepts ${spec}`, () => {
      expect(dependencySpecProblem(spec)).toBeNull();
      expect(parseTaskFile(bare(`dependencies: [${JSON.stringify(spec)}]`), FILE).meta.dependencies).toEqual([spec]);
    });
  }

  const refused: [string, RegExp][] = [
    ["--registry=x", /looks like a command-line flag/],
    ["../x", /is a local path; only registry packages are allowed/],
    ["git+https://github.com/a/b", /is a git repository/],
    ["https://x/y.tgz", /is a URL/],
    ["file:../x", /is a local path/],
    ["npm:foo@1", /is an alias/],
    ["foo@npm:bar@1", /is an alias/],
    ["github:a/b", /is a git repository/],
    ["a/b", /is a git repository/],
    ["foo bar", /is not a valid npm package spec/],
    ["", /is empty/],
  ];
  for (const [spec, pattern] of refused) {
    it(`refuses ${JSON.stringify(spec)} naming the spec and its line`, () => {
      expect(dependencySpecProblem(spec)).toMatch(pattern);
      const e = errorOf(bare("title: t", "dependencies:", "  - dayjs", `  - ${JSON.stringify(spec)}`));
      expect(e.message).toMatch(new RegExp(`^tasks/hello\\.ts:5: dependency ${escape(JSON.stringify(spec))} `));
      expect(e.message).toMatch(pattern);
      expect(e).toMatchObject({ line: 5, column: 5, field: "dependencies" });
    });
  }

  it("refuses the same package twice", () => {
    const e = errorOf(commented('dependencies: ["dayjs@1", "dayjs@2"]'));
    expect(e.message).toBe('tasks/hello.ts:3: dependency "dayjs@2" repeats "dayjs@1"; list each package once');
  });

  it("names every bad entry at once, from the first one's line", () => {
    const e = errorOf(commented('dependencies:\n  - "dayjs@^1"\n  - "../local"\n  - "zod@3"\n  - "--registry=x"'));
    expect(e.message).toBe(
      'tasks/hello.ts:5: dependency "../local" is a local path; only registry packages are allowed (name, name@range, @scope/name@tag)' +
        '; line 7: dependency "--registry=x" looks like a command-line flag; only package specs are allowed',
    );
    expect(e).toMatchObject({ line: 5, field: "dependencies" });
  });
});

describe("checkNodeVersion", () => {
  const meta = (range: string) => parseTaskFile(bare(`node_version: "${range}"`), FILE).meta;

  it("passes when satisfied or unset", () => {
    expect(() => checkNodeVersion(meta(">=20.19"), "v20.19.1", FILE)).not.toThrow();
    expect(() => checkNodeVersion(parseTaskFile(BODY, FILE).meta, "v10.0.0")).not.toThrow();
    expect(() => checkNodeVersion(meta(">=22"), "v23.0.0-nightly2025", FILE)).not.toThrow();
    expect(() => checkNodeVersion(meta(">=18"))).not.toThrow(); // this process
  });

  it("throws ERR_TASK_NODE_VERSION naming the range and the running version", () => {
    try {
      checkNodeVersion(meta("^22"), "v20.19.0", FILE, 2);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TaskFileError);
      expect((err as TaskFileError).code).toBe(ERR_TASK_NODE_VERSION);
      expect((err as Error).message).toBe(
        'tasks/hello.ts:2: frontmatter field "node_version" asks for Node ^22, but the host runs v20.19.0; run the host on a matching Node or change node_version',
      );
    }
  });

  it("parseTaskFile checks it at the field's own line when given the running Node", () => {
    const source = commented("title: ok", 'node_version: "^99"');
    expect(() => parseTaskFile(source, FILE)).not.toThrow();
    let e: TaskFileError | undefined;
    try {
      parseTaskFile(source, FILE, { nodeVersion: "v20.19.0" });
    } catch (err) {
      e = err as TaskFileError;
    }
    expect(e).toMatchObject({ line: 4, code: ERR_TASK_NODE_VERSION });
    expect(e!.message).toMatch(/^tasks\/hello\.ts:4: frontmatter field "node_version" asks for Node \^99/);
    expect(() => parseTaskFile(source.replace("^99", ">=20"), FILE, { nodeVersion: "v20.19.0" })).not.toThrow();
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

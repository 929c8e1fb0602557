import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ERR_TASK_OUTSIDE_DIR, isTaskFile, taskIdFromPath } from "../runtime/task-file/task-id.ts";

let tasksDir: string;

beforeEach(() => {
  tasksDir = mkdtempSync(path.join(os.tmpdir(), "taskhost-taskid-"));
});
afterEach(() => {
  rmSync(tasksDir, { recursive: true, force: true });
});

describe("taskIdFromPath", () => {
  it("is the path relative to the tasks directory, without .ts, with /", () => {
    expect(taskIdFromPath(tasksDir, path.join(tasksDir, "hello.ts"))).toBe("hello");
    expect(taskIdFromPath(tasksDir, path.join(tasksDir, "reports", "daily.ts"))).toBe("reports/daily");
    expect(taskIdFromPath(tasksDir + path.sep, path.join(tasksDir, "a", "b", "c.ts"))).toBe("a/b/c");
  });

  it("refuses a file outside the tasks directory", () => {
    expect(() => taskIdFromPath(tasksDir, path.join(path.dirname(tasksDir), "x.ts"))).toThrow(
      expect.objectContaining({ code: ERR_TASK_OUTSIDE_DIR }),
    );
    expect(() => taskIdFromPath(tasksDir, tasksDir)).toThrow(/not inside the tasks directory/);
  });
});

describe("isTaskFile", () => {
  const cases: [string, boolean, boolean][] = [
    // path, includeExamples=false, includeExamples=true
    ["hello.ts", true, true],
    ["reports/daily.ts", true, true],
    ["reports\\daily.ts", true, true],
    ["example_hello_world.ts", false, true],
    ["sub/example_x.ts", false, true],
    ["_helper.ts", false, false],
    [".hidden.ts", false, false],
    ["_lib/util.ts", false, false],
    [".git/hooks.ts", false, false],
    ["a/_private/b.ts", false, false],
    ["types.d.ts", false, false],
    ["hello.test.ts", false, false],
    ["hello.js", false, false],
    ["hello.tsx", false, false],
    ["hello.mts", false, false],
    ["hello.ts.bak", false, false],
    ["notes.md", false, false],
    ["../outside.ts", false, false],
    ["", false, false],
  ];
  for (const [rel, plain, withExamples] of cases) {
    it(`${JSON.stringify(rel)} -> ${plain}/${withExamples}`, () => {
      expect(isTaskFile(rel, false)).toBe(plain);
      expect(isTaskFile(rel, true)).toBe(withExamples);
    });
  }

  it("picks the tasks out of a real directory tree", () => {
    const files = [
      "hello.ts",
      "example_hello.ts",
      "reports/daily.ts",
      "reports/_shared.ts",
      "_lib/x.ts",
      "types.d.ts",
      "hello.test.ts",
      "README.md",
    ];
    for (const f of files) {
      mkdirSync(path.dirname(path.join(tasksDir, f)), { recursive: true });
      writeFileSync(path.join(tasksDir, f), "export default class {}\n");
    }
    const all = (readdirSync(tasksDir, { recursive: true }) as string[]).filter((f) => f.includes("."));
    const ids = (includeExamples: boolean) =>
      all
        .filter((rel) => isTaskFile(rel, includeExamples))
        .map((rel) => taskIdFromPath(tasksDir, path.join(tasksDir, rel)))
        .sort();
    expect(ids(false)).toEqual(["hello", "reports/daily"]);
    expect(ids(true)).toEqual(["example_hello", "hello", "reports/daily"]);
  });
});

import { describe, expect, it } from "vitest";
import { dependencySpecProblem } from "../runtime/deps/dependency-spec.ts";
import { normaliseDependency } from "../runtime/deps/dependency-key.ts";
import { parseTaskFile, TaskFileError } from "../runtime/task-file/parse-task-file.ts";

/** Issue 11.11 and 10.15: a dependency spec is refused with its true reason, never half-used. */
function refusal(spec: string): TaskFileError {
  try {
    parseTaskFile(`---\ndependencies:\n  - ${JSON.stringify(spec)}\n---\nexport default class {}\n`, "tasks/hello.ts");
  } catch (error) {
    expect(error).toBeInstanceOf(TaskFileError);
    return error as TaskFileError;
  }
  throw new Error(`accepted ${spec}`);
}

describe("dependency specs refused with their true reason", () => {
  const refused: Array<[string, RegExp]> = [
    // A missing comma: lodash used to be dropped without a word.
    ["dayjs@^1.11 lodash", /holds two, "dayjs@\^1\.11" and "lodash" \(a comma missing\?\); give each its own entry: \["dayjs@\^1\.11", "lodash"\]/],
    ["dayjs lodash", /holds two, "dayjs" and "lodash"/],
    // A flag after a spec: accepted (normalised to lodash@4) before.
    ["lodash@4 --foreground-scripts", /carries "--foreground-scripts", which looks like a command-line flag/],
    // Said to be "a local path" before.
    ["dayjs@latest --registry=http://evil", /carries "--registry=http:\/\/evil", which looks like a command-line flag/],
    ["@scope/", /is a scope without a package name; write @scope\/name/],
    ["@scope", /is a scope without a package name/],
    ["@/x", /is not a valid npm package name/],
    ["./lib", /is a local path/],
  ];
  for (const [spec, reason] of refused) {
    it(`refuses ${JSON.stringify(spec)}`, () => {
      expect(dependencySpecProblem(spec)).toMatch(reason);
      const error = refusal(spec);
      expect(error.message).toMatch(new RegExp(`^tasks/hello\\.ts:3: dependency ${JSON.stringify(spec).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} `));
      expect(error.message).toMatch(reason);
      // The installer applies the same rule.
      expect(() => normaliseDependency(spec)).toThrow(reason);
    });
  }

  for (const spec of ["dayjs", "dayjs@^1.11", "@scope/name@beta", "x@1 - 2", "x@>=1 <2", "x@1.2.3 || 2.0.0", "x@latest"]) {
    it(`accepts ${JSON.stringify(spec)} (ranges keep their spaces)`, () => {
      expect(dependencySpecProblem(spec)).toBeNull();
    });
  }
});

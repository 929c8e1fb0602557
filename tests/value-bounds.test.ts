import { describe, expect, it } from "vitest";
import { ConfigError, resolveConfig } from "../runtime/config/resolve-config.ts";
import { MACHINE_MEMORY_MB, MAX_DURATION_SEC } from "../runtime/config/value-bounds.ts";
import { parseTaskFile, TaskFileError } from "../runtime/task-file/parse-task-file.ts";

/** Issue 10.11: what taskhost cannot honour is refused, naming the key, in config and frontmatter alike. */
const context = { projectRoot: "/project", configPath: "/project/config/config.yaml", env: {} };

function configError(input: unknown): ConfigError {
  try {
    resolveConfig(input, context);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`accepted: ${JSON.stringify(input)}`);
}

function frontmatterError(line: string): TaskFileError {
  try {
    parseTaskFile(`---\n${line}\n---\nexport default class {}\n`, "tasks/hello.ts");
  } catch (error) {
    expect(error).toBeInstanceOf(TaskFileError);
    return error as TaskFileError;
  }
  throw new Error(`accepted: ${line}`);
}

describe("config values past what can be honoured", () => {
  const refused: Array<[string, Record<string, unknown>, RegExp]> = [
    ["scheduler.memory_check_interval", { scheduler: { memory_check_interval: 1e10 } }, /at most 2147483 seconds/],
    ["scheduler.memory_check_interval", { scheduler: { memory_check_interval: 0.001 } }, /at least 0\.1 seconds/],
    ["scheduler.shutdown_grace", { scheduler: { shutdown_grace: 1e300 } }, /at most 2147483 seconds/],
    ["scheduler.max_memory_usage", { scheduler: { max_memory_usage: 1e12 } }, /at most \d+ MB \(this machine's memory\)/],
    ["scheduler.max_concurrent_runs", { scheduler: { max_concurrent_runs: 1e9 } }, /at most 1000 runs/],
    ["database.history_per_task", { database: { history_per_task: 1e12 } }, /at most 1000000 runs/],
    ["dependencies.install_timeout", { dependencies: { install_timeout: 3e9 } }, /at most 2147483 seconds/],
  ];
  for (const [key, input, message] of refused) {
    it(`refuses ${JSON.stringify(input)} naming ${key}`, () => {
      const error = configError(input);
      expect(error.key).toBe(key);
      expect(error.message).toContain(`config key ${key} must be`);
      expect(error.message).toMatch(message);
    });
  }

  it("takes the largest values that can be honoured", () => {
    const { config } = resolveConfig(
      {
        scheduler: { memory_check_interval: MAX_DURATION_SEC, shutdown_grace: MAX_DURATION_SEC, max_concurrent_runs: 1000, max_memory_usage: MACHINE_MEMORY_MB },
        dependencies: { install_timeout: MAX_DURATION_SEC },
      },
      context,
    );
    expect(config.scheduler.shutdownGraceSec * 1000).toBeLessThanOrEqual(2 ** 31 - 1);
    expect(config.scheduler.memoryCheckIntervalSec).toBe(MAX_DURATION_SEC);
  });
});

describe("frontmatter values past what can be honoured", () => {
  const refused: Array<[string, RegExp]> = [
    ["timeout: 1e300", /"timeout" must be a number of seconds > 0, at most 2147483 seconds .*got 1e\+300/],
    ["timeout: 2147484", /"timeout" .*at most 2147483 seconds/],
    ["retry_delay: 1e10", /"retry_delay" .*at most 2147483 seconds/],
    ["retry_count: 1000000", /"retry_count" .*at most 1000 retries/],
    ["memory_limit: 1000000000000", /"memory_limit" .*at most \d+ MB \(this machine's memory\)/],
  ];
  for (const [line, message] of refused) {
    it(`refuses ${line} at its line`, () => {
      const error = frontmatterError(line);
      expect(error.message).toMatch(/^tasks\/hello\.ts:2: frontmatter field /);
      expect(error.message).toMatch(message);
      expect(error.field).toBe(line.split(":")[0]);
    });
  }

  it("takes a timeout of 2147483 s (24.8 days)", () => {
    const parsed = parseTaskFile(`---\ntimeout: ${MAX_DURATION_SEC}\n---\nexport default class {}\n`, "tasks/hello.ts");
    expect(parsed.meta.timeoutSec).toBe(MAX_DURATION_SEC);
  });
});

import path from "node:path";
import { describe, expect, it } from "vitest";
import { ERR_CONFIG_INVALID, resolveLoggingOptions, type LoggingOptions } from "../runtime/logging/logging-options.ts";

const root = path.resolve("/srv/project");
const resolve = (input: LoggingOptions | null | undefined) => resolveLoggingOptions(input, root);

function failure(input: LoggingOptions): Error & { code?: string } {
  try {
    resolve(input);
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("expected resolveLoggingOptions to throw");
}

describe("resolveLoggingOptions", () => {
  it("fills in the contract's defaults, frozen, directory absolute", () => {
    for (const input of [undefined, null, {}]) {
      const resolved = resolve(input);
      expect(resolved).toEqual({
        level: "info",
        directory: path.join(root, "logs"),
        maxSizeBytes: 10 * 1024 * 1024,
        rotation: "daily",
        retention: 7,
      });
      expect(Object.isFrozen(resolved)).toBe(true);
    }
  });

  it("treats a key written without a value (YAML null) as its default", () => {
    expect(resolve({ level: null, max_size: null, retention: null }).retention).toBe(7);
  });

  it.each([
    ["10 MB", 10 * 1024 ** 2],
    ["10MB", 10 * 1024 ** 2],
    ["10 mb", 10 * 1024 ** 2],
    ["512k", 512 * 1024],
    ["500 KB", 500 * 1024],
    ["1.5 GB", 1.5 * 1024 ** 3],
    ["2048", 2048],
    [1048576, 1048576],
  ] as const)("reads max_size %j as %d bytes", (max_size, bytes) => {
    expect(resolve({ max_size }).maxSizeBytes).toBe(bytes);
  });

  it("accepts the other keys", () => {
    expect(resolve({ level: "DEBUG", directory: "/var/log/taskhost", rotation: "hourly", retention: 0 })).toMatchObject({
      level: "debug",
      directory: "/var/log/taskhost",
      rotation: "hourly",
      retention: 0,
    });
    expect(resolve({ directory: "var/logs", rotation: "none" })).toMatchObject({
      directory: path.join(root, "var/logs"),
      rotation: "none",
    });
  });

  it.each([
    [{ level: "verbose" }, "logging.level"],
    [{ level: 3 as unknown as string }, "logging.level"],
    [{ directory: "" }, "logging.directory"],
    [{ directory: 5 as unknown as string }, "logging.directory"],
    [{ max_size: "ten megs" }, "logging.max_size"],
    [{ max_size: "10 XB" }, "logging.max_size"],
    [{ max_size: -1 }, "logging.max_size"],
    [{ max_size: 10 }, "logging.max_size"], // 10 bytes: surely a unit left out
    [{ max_size: true as unknown as string }, "logging.max_size"],
    [{ rotation: "weekly" }, "logging.rotation"],
    [{ retention: -1 }, "logging.retention"],
    [{ retention: 1.5 }, "logging.retention"],
    [{ retention: "7" as unknown as number }, "logging.retention"],
  ] as [LoggingOptions, string][])("refuses %j naming %s", (input, key) => {
    const error = failure(input);
    expect(error.code).toBe(ERR_CONFIG_INVALID);
    expect(error.message).toContain(key);
  });

  it("refuses a logging section that is not a mapping", () => {
    const error = failure("loud" as unknown as LoggingOptions);
    expect(error.code).toBe(ERR_CONFIG_INVALID);
    expect(error.message).toContain("logging");
  });
});

/**
 * The `logging:` section of `config/config.yaml` (contract §6), as the user
 * writes it and as the log writers read it. `resolveLoggingOptions()` is pure
 * (no I/O) so the config resolver can call it on every hot reload and refuse a
 * bad edit before anything touches the logs directory.
 */
import path from "node:path";
import { LOG_LEVELS, type LogLevel } from "./log-level.ts";

/** pino-roll's `frequency` values; "none" rotates by size only. */
export type LogRotation = "daily" | "hourly" | "none";
export const LOG_ROTATIONS: readonly LogRotation[] = ["daily", "hourly", "none"];

/** Same code the config resolver uses, so callers test one constant for any bad key. */
export { ERR_CONFIG_INVALID } from "../errors.ts";
import { ERR_CONFIG_INVALID, taskhostError } from "../errors.ts";

export interface LoggingOptions {
  level?: LogLevel | string | null;
  /** Relative to the project root unless absolute. */
  directory?: string | null;
  /** "10 MB", "10MB", "512k", "1.5 GB", or a number of bytes. */
  max_size?: string | number | null;
  rotation?: LogRotation | string | null;
  /** Rotated files kept besides the one being written. */
  retention?: number | null;
}

export interface ResolvedLoggingOptions {
  readonly level: LogLevel;
  /** Absolute. */
  readonly directory: string;
  readonly maxSizeBytes: number;
  readonly rotation: LogRotation;
  readonly retention: number;
}

export const LOGGING_DEFAULTS = Object.freeze({
  level: "info" as LogLevel,
  directory: "logs",
  max_size: "10 MB",
  rotation: "daily" as LogRotation,
  retention: 7,
});

/**
 * Below this a "size" is almost certainly a unit left out (`max_size: 10`
 * meaning 10 MB would otherwise roll the log every line).
 */
export const MIN_LOG_SIZE_BYTES = 1024;

const UNIT_BYTES: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

function invalid(key: string, message: string): Error {
  return taskhostError(ERR_CONFIG_INVALID, `logging.${key} ${message}`);
}

/** Parses "10 MB" / "512k" / 1048576 into bytes (binary units, like pino-roll). */
export function parseLogSize(value: string | number, key = "max_size"): number {
  let bytes: number;
  if (typeof value === "number") {
    bytes = value;
  } else if (typeof value === "string") {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
    const unit = match ? UNIT_BYTES[match[2].toLowerCase()] : undefined;
    if (!match || unit === undefined) {
      throw invalid(key, `is ${JSON.stringify(value)}: write a size such as "10 MB", "512 KB" or a number of bytes.`);
    }
    bytes = Number(match[1]) * unit;
  } else {
    throw invalid(key, `must be a size such as "10 MB" or a number of bytes, not ${typeof value}.`);
  }
  if (!Number.isFinite(bytes) || bytes < MIN_LOG_SIZE_BYTES) {
    throw invalid(
      key,
      `is ${JSON.stringify(value)} (${bytes} bytes): it must be at least 1 KB; a bare number counts bytes, so write a unit, e.g. "10 MB".`,
    );
  }
  return Math.floor(bytes);
}

/** Validates the `logging:` section and returns it frozen, directory made absolute. */
export function resolveLoggingOptions(input: LoggingOptions | null | undefined, projectRoot: string): ResolvedLoggingOptions {
  if (input !== null && input !== undefined && (typeof input !== "object" || Array.isArray(input))) {
    throw taskhostError(ERR_CONFIG_INVALID, "logging must be a mapping of keys (level, directory, max_size, rotation, retention).");
  }
  // YAML gives null for a key written without a value: treat it as "use the default".
  const pick = <K extends keyof LoggingOptions>(key: K) => input?.[key] ?? LOGGING_DEFAULTS[key];

  const rawLevel = pick("level");
  const level = typeof rawLevel === "string" ? rawLevel.trim().toLowerCase() : rawLevel;
  if (!LOG_LEVELS.includes(level as LogLevel)) {
    throw invalid("level", `is ${JSON.stringify(rawLevel)}: use one of ${LOG_LEVELS.join(", ")}.`);
  }

  const directory = pick("directory");
  if (typeof directory !== "string" || directory.trim() === "") {
    throw invalid("directory", `must be a non-empty path (relative to the project root), not ${JSON.stringify(directory)}.`);
  }

  const maxSizeBytes = parseLogSize(pick("max_size"));

  const rawRotation = pick("rotation");
  const rotation = typeof rawRotation === "string" ? rawRotation.trim().toLowerCase() : rawRotation;
  if (!LOG_ROTATIONS.includes(rotation as LogRotation)) {
    throw invalid("rotation", `is ${JSON.stringify(rawRotation)}: use one of ${LOG_ROTATIONS.join(", ")}.`);
  }

  const retention = pick("retention");
  if (typeof retention !== "number" || !Number.isInteger(retention) || retention < 0) {
    throw invalid("retention", `is ${JSON.stringify(retention)}: it must be a whole number of rotated files to keep (0 or more).`);
  }

  return Object.freeze({
    level: level as LogLevel,
    directory: path.resolve(projectRoot, directory),
    maxSizeBytes,
    rotation: rotation as LogRotation,
    retention,
  });
}

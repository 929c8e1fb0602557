import { existsSync, readFileSync, statSync } from "node:fs";
import { chmod, mkdir } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import { atomicWriteFile, PRIVATE_FILE } from "../store/atomic-write-file.ts";
import type { ConfigResolution } from "./config-options.ts";
import { displayConfigPath, resolveConfig } from "./resolve-config.ts";
import { loadConfigFile, readSecretsBeside, resolveConfigSource } from "./load-config-file.ts";

/**
 * The last configuration a host ran on, kept under data/ (writable under the
 * systemd unit, unlike config/). A restart — `taskhost restart`, a memory
 * restart, SIGHUP, a crash, systemd — after a bad edit of config/config.yaml
 * starts on this copy and says loudly that the file is invalid, instead of
 * failing to start. Only a first start with no copy refuses.
 */
export const LAST_GOOD_CONFIG_FILE = "config.last-good.yaml";
/**
 * The copy's first line names the file it was copied from: a start with
 * `--config config/other.yaml` must not fall back on another file's settings.
 */
const COPY_OF = "# taskhost: the last good configuration of ";

/** Why config/config.yaml is not in force (status `host.config`, the dashboard, the log). */
export interface ConfigProblem {
  /** The config file, as users name it (config/config.yaml). */
  file: string;
  /** The error, with file:line and key. */
  error: string;
  /** ISO time of the save that made it invalid (the file's mtime). */
  since: string;
  /** ISO time the configuration in force was saved as the last good one; null at a cold start. */
  lastGoodSavedAt: string | null;
}

export interface LoadedConfig extends ConfigResolution {
  /** The text that produced `config` (to keep as the last good one); null when no file exists. */
  source: string | null;
  /** Set when config.yaml is invalid and the last good configuration is in force instead. */
  problem: ConfigProblem | null;
}

/** Reads and resolves the config file; throws ConfigError on any problem. */
export function loadConfigWithSource(configPath: string, projectRoot: string): LoadedConfig {
  const absPath = path.resolve(projectRoot, configPath);
  let source: string;
  try {
    source = readFileSync(absPath, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      return { ...resolveConfig(undefined, { projectRoot, configPath: absPath, secrets: readSecretsBeside(absPath, projectRoot) }), source: null, problem: null };
    }
    // Unreadable: loadConfigFile's error names the file and says what to do.
    loadConfigFile(absPath, projectRoot);
    throw err;
  }
  // config/secrets.yaml is read with it (the SMTP password, webhook secrets): never copied into the last good file.
  return { ...resolveConfigSource(source, { projectRoot, configPath: absPath, secrets: readSecretsBeside(absPath, projectRoot) }), source, problem: null };
}

/**
 * The configuration to run on: config.yaml when it is valid, else the last good
 * copy (with `problem` saying why). Throws the file's own error when there is no
 * usable copy — a cold start with a bad file refuses, naming the key or line.
 */
export function loadConfigOrLastGood(configPath: string, projectRoot: string): LoadedConfig {
  const absPath = path.resolve(projectRoot, configPath);
  try {
    return loadConfigWithSource(absPath, projectRoot);
  } catch (error) {
    const fallback = readLastGood(absPath, projectRoot);
    if (!fallback) throw error;
    try {
      const resolution = resolveConfigSource(fallback.source, { projectRoot, configPath: absPath, secrets: readSecretsBeside(absPath, projectRoot) });
      return { ...resolution, source: fallback.source, problem: configProblem(absPath, projectRoot, error, fallback.savedAt) };
    } catch {
      // The copy no longer resolves either (an environment variable it relied on is gone).
      throw error;
    }
  }
}

/** A problem record for a rejected config file. */
export function configProblem(absPath: string, projectRoot: string, error: unknown, lastGoodSavedAt: string | null): ConfigProblem {
  let since: string;
  try {
    since = statSync(absPath).mtime.toISOString();
  } catch {
    since = new Date().toISOString();
  }
  return {
    file: displayConfigPath(absPath, projectRoot),
    error: error instanceof Error ? error.message : String(error),
    since,
    lastGoodSavedAt,
  };
}

/**
 * Keeps `source` as the last good configuration of `configFile` (as users name it: config/config.yaml)
 * in `dataDir`, rewritten only when it changed; returns when it was saved.
 */
export async function saveLastGoodConfig(dataDir: string, source: string | null, configFile: string): Promise<string> {
  const file = path.join(dataDir, LAST_GOOD_CONFIG_FILE);
  const text = `${COPY_OF}${configFile}\n${source ?? ""}`;
  let same = false;
  try {
    same = readFileSync(file, "utf8") === text;
  } catch {
    // not there yet
  }
  // A copy of config.yaml, which may hold dashboard.token or alert secrets: owner-only (issue 10.10).
  if (!same) {
    await mkdir(dataDir, { recursive: true });
    await atomicWriteFile(file, new TextEncoder().encode(text), PRIVATE_FILE);
  } else if ((statSync(file).mode & 0o077) !== 0) {
    await chmod(file, PRIVATE_FILE);
  }
  return statSync(file).mtime.toISOString();
}

/** The one-line summary commands print before doing anything. */
export function describeConfigProblem(problem: ConfigProblem): string {
  const onWhat = problem.lastGoodSavedAt
    ? `a host runs on the last good configuration (saved ${problem.lastGoodSavedAt}) until the file is fixed`
    : "no last good configuration is kept, so a host cannot start until the file is fixed";
  return `${problem.file} is invalid since ${problem.since}: ${problem.error}\n${onWhat}`;
}

/**
 * The last good copy for this config file. It lives beside the ledger, whose
 * folder the bad file may itself name: read database.path from it when the YAML
 * still parses, else the default data/.
 */
function readLastGood(absConfigPath: string, projectRoot: string): { source: string; savedAt: string } | null {
  for (const dataDir of candidateDataDirs(absConfigPath, projectRoot)) {
    const file = path.join(dataDir, LAST_GOOD_CONFIG_FILE);
    if (!existsSync(file)) continue;
    try {
      const text = readFileSync(file, "utf8");
      // A copy of another config file is no fallback for this one (a copy without the line predates it).
      const copyOf = text.startsWith(COPY_OF) ? text.slice(COPY_OF.length, text.indexOf("\n")) : null;
      if (copyOf !== null && copyOf !== displayConfigPath(absConfigPath, projectRoot)) continue;
      return { source: text, savedAt: statSync(file).mtime.toISOString() };
    } catch {
      // unreadable: try the next place
    }
  }
  return null;
}

function candidateDataDirs(absConfigPath: string, projectRoot: string): string[] {
  const dirs: string[] = [];
  try {
    const raw = parse(readFileSync(absConfigPath, "utf8")) as { database?: { path?: unknown } } | null;
    const dbPath = raw?.database?.path;
    if (typeof dbPath === "string" && dbPath.trim() !== "") dirs.push(path.dirname(path.resolve(projectRoot, dbPath)));
  } catch {
    // not YAML at all: only the default place
  }
  const fallback = path.dirname(resolveConfig(undefined, { projectRoot, configPath: absConfigPath }).config.database.path);
  if (!dirs.includes(fallback)) dirs.push(fallback);
  return dirs;
}

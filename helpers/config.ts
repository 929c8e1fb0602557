import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { Document, isMap, isScalar, isSeq, parseDocument } from "yaml";
import { getProjectRoot } from "./project-root.ts";
import { writeFileAtomic } from "./atomic-write.ts";
import { log } from "./logging.ts";
import { displayConfigPath } from "../runtime/util/display-path.ts";

/** A YAML mapping as loaded by {@link loadConfig}. */
export type ConfigData = Record<string, unknown>;

export { ERR_CONFIG_NAME, ERR_CONFIG_PARSE } from "../runtime/errors.ts";
import { ERR_CONFIG_NAME, ERR_CONFIG_PARSE } from "../runtime/errors.ts";

/** A config name that would leave `config/`, or a file that is not valid YAML. */
export class ConfigError extends Error {
  constructor(message: string, readonly code: typeof ERR_CONFIG_NAME | typeof ERR_CONFIG_PARSE) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * The folder task configs live in: `<project root>/config`.
 *
 * @example
 * const dir = getConfigDir(); // /srv/taskhost/config
 */
export function getConfigDir(): string {
  return path.join(getProjectRoot(), "config");
}

/**
 * Where {@link saveConfig} writes: `data/config/` (the host's data folder, which
 * the systemd unit keeps writable and git ignores), not `config/`, which the
 * unit makes read-only and which is in git.
 *
 * @example
 * const dir = getSavedConfigDir(); // /srv/taskhost/data/config
 */
export function getSavedConfigDir(): string {
  return path.join(process.env.TASKHOST_DATA_DIR ?? path.join(getProjectRoot(), "data"), "config");
}

/**
 * Turns a config name into its absolute path inside `config/` (or `dir`), refusing
 * what would leave it: absolute paths, `..` segments, and symlinks (the file or a
 * folder on the way) that point outside. A name without extension gets `.yaml`.
 */
export function resolveConfigPath(name = "config.yaml", dir = getConfigDir()): string {
  const refuse = (why: string) =>
    new ConfigError(`config name ${JSON.stringify(name)} refused: ${why}; names are relative to config/ (e.g. "my_task.yaml")`, ERR_CONFIG_NAME);
  if (name.length === 0) throw refuse("empty");
  if (path.isAbsolute(name) || /^[a-zA-Z]:/.test(name)) throw refuse("absolute paths are not allowed");
  if (name.includes("\0")) throw refuse("it contains a NUL byte");
  if (name.split(/[\\/]/).includes("..")) throw refuse("`..` is not allowed");
  const withExt = /\.ya?ml$/i.test(name) ? name : `${name}.yaml`;
  const file = path.resolve(dir, withExt);
  if (!isInside(dir, file)) throw refuse("it resolves outside config/");
  // Symlinks: whatever part of the path exists must really be inside config/.
  if (existsSync(dir)) {
    const realDir = realpathSync(dir);
    let existing = file;
    while (!existsSync(existing) && existing !== dir) existing = path.dirname(existing);
    if (existsSync(existing) || isDanglingLink(existing)) {
      let real: string;
      try {
        real = realpathSync(existing);
      } catch {
        throw refuse("it is a symlink to a file that does not exist");
      }
      if (!isInside(realDir, real) && real !== realDir) throw refuse(`it is a symlink to ${real}, outside config/`);
    }
  }
  return file;
}

function isDanglingLink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

function isInside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

const warnedOpenSecrets = new Set<string>();

function warnIfSecretsOpen(file: string): void {
  if (!/^secrets.*\.ya?ml$/i.test(path.basename(file)) || warnedOpenSecrets.has(file) || process.platform === "win32") return;
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  warnedOpenSecrets.add(file);
  const rel = path.relative(getProjectRoot(), file);
  log.warn(`${rel} is readable by other users (mode ${mode.toString(8).padStart(4, "0")}); run \`chmod 600 ${rel}\``);
}

function readDocument(file: string): Document | null {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  warnIfSecretsOpen(file);
  const doc = parseDocument(text, { prettyErrors: true });
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0];
    const where = `${path.relative(getProjectRoot(), file)}${line ? `:${line.line}:${line.col}` : ""}`;
    throw new ConfigError(`${where}: invalid YAML: ${first.message.split("\n")[0]}`, ERR_CONFIG_PARSE);
  }
  return doc;
}

/**
 * The host's own configuration file: the one it was started with (`start
 * --config`), else `config/config.yaml`. A task's `loadConfig()` and
 * `sendEmail` read the settings the host runs on, not another file's.
 */
export function hostConfigFile(): string {
  return process.env.TASKHOST_CONFIG_FILE ?? resolveConfigPath("config.yaml");
}

/**
 * Loads a YAML file from `config/` (default: the host's own configuration,
 * `config.yaml` or the file given to `start --config`), or
 * the copy {@link saveConfig} wrote in `data/config/` once there is one.
 * A missing file gives `{}`; invalid YAML throws a {@link ConfigError} naming
 * the file and line. A `secrets*.yaml` readable by other users logs a warning.
 *
 * @example
 * const settings = loadConfig("my_task.yaml");         // config/my_task.yaml
 * const secrets = loadConfig<{ api_keys?: Record<string, string> }>("secrets");
 */
export function loadConfig<T extends object = ConfigData>(name?: string): T {
  // "config.yaml" by any spelling ("config", "./config.yaml") is the host's own.
  const hostOwn = name === undefined || resolveConfigPath(name) === path.resolve(getConfigDir(), "config.yaml");
  return loadYamlFile<T>(hostOwn ? hostConfigFile() : currentConfigFile(name));
}

/** A YAML mapping from an absolute path (`{}` when the file is missing). */
export function loadYamlFile<T extends object = ConfigData>(file: string): T {
  const doc = readDocument(file);
  const data: unknown = doc?.toJS() ?? {};
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new ConfigError(`${displayConfigPath(file, getProjectRoot())}: expected a mapping of keys at the top level`, ERR_CONFIG_PARSE);
  }
  return data as T;
}

/**
 * One value of a config file by dot path (`"api.endpoints.0.url"`: keys and
 * list indexes), or `defaultValue` when any part of the path is missing.
 *
 * @example
 * const apiKey = getConfigValue("api_keys.weather", "secrets.yaml", "not-set");
 * const retries = getConfigValue<number>("http.retries", "my_task.yaml", 3);
 * const zone = getConfigValue<string>("scheduler.timezone"); // from config.yaml, or undefined
 */
export function getConfigValue<T = unknown>(keyPath: string, name?: string): T | undefined;
export function getConfigValue<T>(keyPath: string, name: string | undefined, defaultValue: T): T;
export function getConfigValue<T>(keyPath: string, name?: string, defaultValue?: T): T | undefined {
  let node: unknown = loadConfig(name);
  for (const key of keyPath.split(".")) {
    if (node === null || typeof node !== "object" || !Object.hasOwn(node, key)) return defaultValue;
    node = (node as Record<string, unknown>)[key];
  }
  return node === undefined ? defaultValue : (node as T);
}

/** The file `name` is read from: the saved copy in data/config/ when there is one, else config/. */
function currentConfigFile(name?: string): string {
  const saved = resolveConfigPath(name, getSavedConfigDir());
  return existsSync(saved) ? saved : resolveConfigPath(name);
}

/**
 * Writes `data` as YAML to `data/config/<name>` atomically (readers never see
 * half a file); {@link loadConfig} reads it from there on. `config/` stays as
 * you wrote it: read-only under the systemd unit, and `git status` clean. When
 * the file exists (saved before, or in config/), its comments and key order are
 * kept for the keys that stay; keys missing from `data` are removed. A new
 * `secrets*.yaml` is created owner-only (0600). The host's own `config.yaml`
 * is refused: the host never reads a saved copy of it.
 *
 * @example
 * const state = loadConfig("my_task.yaml");
 * saveConfig({ ...state, last_sync: new Date().toISOString() }, "my_task.yaml");
 */
export function saveConfig(data: ConfigData, name: string): void {
  if (resolveConfigPath(name) === resolveConfigPath("config.yaml")) {
    throw new ConfigError("saveConfig: config.yaml is the host's own configuration; edit it by hand, and save task settings under their own name", ERR_CONFIG_NAME);
  }
  const file = resolveConfigPath(name, getSavedConfigDir());
  const doc = readDocument(currentConfigFile(name));
  let text: string;
  if (doc && isMap(doc.contents)) {
    mergeInto(doc, [], data);
    text = doc.toString();
  } else {
    text = new Document(data).toString();
  }
  writeFileAtomic(file, text, { mode: /^secrets/i.test(path.basename(file)) ? 0o600 : 0o644 });
}

/** Sets `value` at `at` in doc, keeping the nodes (and their comments) of keys that stay. */
function mergeInto(doc: Document, at: unknown[], value: unknown): void {
  const node = at.length === 0 ? doc.contents : doc.getIn(at, true);
  if (isMap(node) && isPlainObject(value)) {
    for (const item of [...node.items]) {
      const key = isScalar(item.key) ? item.key.value : item.key;
      if (!Object.hasOwn(value, String(key))) node.delete(key);
    }
    for (const [key, child] of Object.entries(value)) mergeInto(doc, [...at, key], child);
    return;
  }
  if (isScalar(node) && !isPlainObject(value) && !Array.isArray(value)) {
    node.value = value;
    return;
  }
  if (isSeq(node) && Array.isArray(value) && node.items.length === value.length) {
    value.forEach((child, i) => mergeInto(doc, [...at, i], child));
    return;
  }
  doc.setIn(at, doc.createNode(value));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof Date);
}

/**
 * The YAML files in `config/` and `data/config/` (and their sub-folders), as names to pass to
 * {@link loadConfig}, sorted. Symlinks are listed only if they stay inside.
 *
 * @example
 * for (const name of listConfigFiles()) log.info(name); // "config.yaml", "my_task.yaml", ...
 */
export function listConfigFiles(): string[] {
  const names = new Set<string>();
  for (const dir of [getConfigDir(), getSavedConfigDir()]) for (const name of yamlFilesIn(dir)) names.add(name);
  return [...names].sort();
}

function yamlFilesIn(dir: string): string[] {
  const names: string[] = [];
  const walk = (sub: string) => {
    let entries;
    try {
      entries = readdirSync(path.join(dir, sub), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(rel);
      else if (/\.ya?ml$/i.test(entry.name) && safeName(rel, dir)) names.push(rel);
    }
  };
  walk("");
  return names;
}

function safeName(name: string, dir: string): boolean {
  try {
    resolveConfigPath(name, dir);
    return true;
  } catch {
    return false;
  }
}

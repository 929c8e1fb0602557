/**
 * Options of the dependency installer: the `dependencies:` section of
 * `config/config.yaml` (contract §6) plus where the host keeps its data.
 * `resolveDependencyOptions()` is pure (no I/O): it validates and freezes.
 */
import path from "node:path";

/** Same code the config resolver uses for a bad key. */
export { ERR_CONFIG_INVALID } from "../errors.ts";
import { ERR_CONFIG_INVALID } from "../errors.ts";

/** At most this many npm processes run at once, whatever the number of tasks. */
export const DEFAULT_MAX_CONCURRENT_INSTALLS = 2;

export interface DependencyOptions {
  /** npm registry URL; null = npm's own configuration (~/.npmrc, npm_config_registry). */
  registry: string | null;
  /** Seconds one `npm install` may take before its process group is killed. */
  installTimeoutSec: number;
  /** Absolute: installs go to `<dataDir>/deps/<key>/`. */
  dataDir: string;
  /** The npm executable; default `npm` from PATH. */
  npmCommand?: string;
  /**
   * Environment of the npm process; default `process.env` at the time of each
   * install. Tests point `npm_config_cache` and `npm_config_userconfig` into
   * their temp folder with it.
   */
  env?: Readonly<NodeJS.ProcessEnv> | null;
  /** Default 2. */
  maxConcurrentInstalls?: number;
}

export interface ResolvedDependencyOptions {
  /** Normalised with a trailing slash, or null. */
  readonly registry: string | null;
  readonly installTimeoutSec: number;
  readonly dataDir: string;
  /** `<dataDir>/deps`. */
  readonly depsDir: string;
  readonly npmCommand: string;
  /** null = `process.env` when npm starts. */
  readonly env: Readonly<NodeJS.ProcessEnv> | null;
  readonly maxConcurrentInstalls: number;
}

function invalid(key: string, message: string): Error {
  return Object.assign(new Error(`dependencies.${key} ${message}`), { code: ERR_CONFIG_INVALID });
}

/** `http://host:4873` -> `http://host:4873/`; anything not http(s) throws. */
export function normaliseRegistry(registry: string): string {
  let url: URL;
  try {
    url = new URL(registry.trim());
  } catch {
    throw invalid("registry", `is ${JSON.stringify(registry)}: it must be an http(s) URL or null.`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw invalid("registry", `is ${JSON.stringify(registry)}: it must be an http(s) URL or null.`);
  }
  return url.href.endsWith("/") ? url.href : `${url.href}/`;
}

export function resolveDependencyOptions(input: DependencyOptions): ResolvedDependencyOptions {
  const { registry, installTimeoutSec, dataDir, npmCommand = "npm", env, maxConcurrentInstalls = DEFAULT_MAX_CONCURRENT_INSTALLS } = input;
  if (registry !== null && typeof registry !== "string") {
    throw invalid("registry", `must be an http(s) URL or null, not ${JSON.stringify(registry)}.`);
  }
  if (typeof installTimeoutSec !== "number" || !Number.isFinite(installTimeoutSec) || installTimeoutSec <= 0) {
    throw invalid("install_timeout", `is ${JSON.stringify(installTimeoutSec)}: it must be a number of seconds > 0.`);
  }
  if (typeof dataDir !== "string" || !path.isAbsolute(dataDir)) {
    throw new TypeError(`dependency installer: dataDir must be an absolute path, not ${JSON.stringify(dataDir)}`);
  }
  if (typeof npmCommand !== "string" || npmCommand.trim() === "") {
    throw new TypeError(`dependency installer: npmCommand must be a non-empty string, not ${JSON.stringify(npmCommand)}`);
  }
  if (!Number.isInteger(maxConcurrentInstalls) || maxConcurrentInstalls < 1) {
    throw new TypeError(`dependency installer: maxConcurrentInstalls must be an integer >= 1, not ${maxConcurrentInstalls}`);
  }
  const resolvedDataDir = path.resolve(dataDir);
  return Object.freeze({
    registry: registry === null ? null : normaliseRegistry(registry),
    installTimeoutSec,
    dataDir: resolvedDataDir,
    depsDir: path.join(resolvedDataDir, "deps"),
    npmCommand,
    env: env ? Object.freeze({ ...env }) : null,
    maxConcurrentInstalls,
  });
}

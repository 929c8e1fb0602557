/**
 * CommonJS files compiled once per worker into `vm.Script`s (a script is not
 * bound to a context: every run's fresh context evaluates the same compiled
 * code). Task bundles are compiled from V8's code cache kept beside them
 * (script-code-cache.ts), so a worker new to a bundle skips parsing it: the
 * warm one a worker made after a run, else the one made with the bundle.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { SourceMap } from "node:module";
import type vm from "node:vm";
import { cacheable, codeCachePath, compileScript, SCRIPT_WRAP_HEAD, warmCodeCachePath, writeWarmCodeCache } from "../../task-file/script-code-cache.ts";

/** Bundles seen by this worker at most; older ones are forgotten (a hot-reloaded task's old versions). */
const MAX_SCRIPTS = 500;

interface Entry {
  script: vm.Script;
  source: string;
  /** A warm code cache should be written once the script has run (it then covers the functions it compiled). */
  writeCache: boolean;
  map?: SourceMap | null;
}

const scripts = new Map<string, Entry>();

export type ModuleWrapper = (
  exports: unknown,
  require: unknown,
  module: unknown,
  filename: string,
  dirname: string,
  importMetaUrl: string,
) => void;

/** The compiled script of `file`; `codeCache` reads its code cache and later writes the warm one. */
export function compiledScript(file: string, codeCache: boolean): vm.Script {
  const known = scripts.get(file);
  if (known) {
    // Most recently used last, so the oldest is the first one forgotten.
    scripts.delete(file);
    scripts.set(file, known);
    return known.script;
  }
  const source = readFileSync(file, "utf8");
  if (!cacheable(source)) codeCache = false;
  let cachedData: Buffer | undefined;
  let warm = false;
  if (codeCache) {
    cachedData = readIfThere(warmCodeCachePath(file));
    warm = cachedData !== undefined;
    cachedData ??= readIfThere(codeCachePath(file));
  }
  const script = compileScript(file, source, cachedData);
  // The cache made with the bundle, none (a bundle written by an older taskhost), or one V8 rejected.
  const writeCache = codeCache && (!warm || script.cachedDataRejected === true);
  scripts.set(file, { script, source, writeCache });
  if (scripts.size > MAX_SCRIPTS) {
    const oldest = scripts.keys().next().value!;
    scripts.delete(oldest);
    unsaved.delete(oldest);
  }
  return script;
}

function readIfThere(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Scripts that have run and want a warm code cache written. */
const unsaved = new Set<string>();
/** A save is scheduled (a timer or the next turn). */
let saving = false;
let lastEnd = 0;
/** How long after the last run ends the caches are written: the next runs of a burst come first. */
const SAVE_AFTER_MS = 50;

/**
 * A run ended (`file`: its script, if its code began): a script that wants a warm code cache
 * gets it once the worker has been idle for SAVE_AFTER_MS, one script a turn while `idle()`
 * holds (making one takes ~0.2 ms, which a burst of runs should not wait for).
 */
export function runEnded(file: string | null, idle: () => boolean): void {
  lastEnd = performance.now();
  if (file !== null && scripts.get(file)?.writeCache) unsaved.add(file);
  if (saving || unsaved.size === 0) return;
  saving = true;
  setTimeout(() => saveWhileIdle(idle), SAVE_AFTER_MS).unref();
}

function saveWhileIdle(idle: () => boolean): void {
  if (!idle()) {
    // A run is loaded: its end (every run's, begun or not) schedules the rest.
    saving = false;
    return;
  }
  const quietFor = performance.now() - lastEnd;
  if (quietFor < SAVE_AFTER_MS) {
    // A run ended since: after a quiet spell.
    setTimeout(() => saveWhileIdle(idle), SAVE_AFTER_MS - quietFor).unref();
    return;
  }
  const next = unsaved.values().next();
  if (!next.done) {
    unsaved.delete(next.value);
    const ran = scripts.get(next.value);
    if (ran?.writeCache) {
      ran.writeCache = false;
      writeWarmCodeCache(next.value, ran.script);
    }
  }
  if (unsaved.size > 0) setImmediate(() => saveWhileIdle(idle));
  else saving = false;
}

/**
 * Rewrites the frames of compiled scripts in a stack to the task's own files
 * (Node applies source maps to modules it loads, not to `vm.Script`s).
 */
export function mapStack(stack: string): string {
  return stack.replace(/(\(|at )([^\s()]+\.c?js):(\d+):(\d+)/g, (whole, lead: string, file: string, line: string, column: string) => {
    const map = sourceMapOf(file);
    if (!map) return whole;
    const l = Number(line) - 1;
    const c = Number(column) - 1 - (l === 0 ? SCRIPT_WRAP_HEAD.length : 0);
    const hit = map.findEntry(l, Math.max(0, c)) as { originalSource?: string; originalLine?: number; originalColumn?: number };
    if (hit.originalSource === undefined || hit.originalLine === undefined) return whole;
    const source = hit.originalSource.startsWith("file://") ? new URL(hit.originalSource).pathname : path.resolve(path.dirname(file), hit.originalSource);
    return `${lead}${source}:${hit.originalLine + 1}:${(hit.originalColumn ?? 0) + 1}`;
  });
}

function sourceMapOf(file: string): SourceMap | null {
  const entry = scripts.get(file);
  if (!entry) return null;
  if (entry.map === undefined) {
    const match = /\/\/# sourceMappingURL=data:application\/json;(?:charset=utf-8;)?base64,([A-Za-z0-9+/=]+)\s*$/.exec(entry.source);
    try {
      entry.map = match ? new SourceMap(JSON.parse(Buffer.from(match[1]!, "base64").toString("utf8"))) : null;
    } catch {
      entry.map = null;
    }
  }
  return entry.map;
}

/**
 * CommonJS files compiled once per worker into `vm.Script`s (a script is not
 * bound to a context: every run's fresh context evaluates the same compiled
 * code). Task bundles also keep V8's code cache on disk beside them, so a new
 * worker (or a restarted host) skips parsing and compiling them.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { SourceMap } from "node:module";
import vm from "node:vm";

/** The CommonJS wrapper, on the script's first line so its line numbers stay those of the file. */
const WRAP_HEAD = "(function (exports, require, module, __filename, __dirname, __thImportMetaUrl) {";
/** Bundles seen by this worker at most; older ones are forgotten (a hot-reloaded task's old versions). */
const MAX_SCRIPTS = 500;
const CACHE_TAG = `${process.version}-${process.arch}`;
/** Bundles smaller than this are compiled without a code cache (V8 parses a few KB in well under a millisecond). */
const CODE_CACHE_MIN_CHARS = 32 * 1024;

interface Entry {
  script: vm.Script;
  source: string;
  /** The code cache should be written once the script has run (it then covers the functions it compiled). */
  writeCache: string | null;
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

/** The compiled script of `file`; `codeCache` reads and later writes `<file>.<node>.v8c`. */
export function compiledScript(file: string, codeCache: boolean): vm.Script {
  const known = scripts.get(file);
  if (known) {
    // Most recently used last, so the oldest is the first one forgotten.
    scripts.delete(file);
    scripts.set(file, known);
    return known.script;
  }
  const source = readFileSync(file, "utf8");
  // A script read from a code cache made by another process loses its import() loader
  // (Node 20: "A dynamic import callback was not specified"): such scripts are compiled afresh.
  // A small one compiles faster than its cache file is read (and written, once per bundle).
  if (source.length < CODE_CACHE_MIN_CHARS || /\bimport\s*\(/.test(source)) codeCache = false;
  const cacheFile = `${file}.${CACHE_TAG}.v8c`;
  let cachedData: Buffer | undefined;
  if (codeCache) {
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      cachedData = undefined;
    }
  }
  const script = new vm.Script(`${WRAP_HEAD}${source}\n})`, {
    filename: file,
    cachedData,
    // import() in a task or a dependency loads through Node's own loader (into the worker's main realm).
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const writeCache = codeCache && (!cachedData || script.cachedDataRejected) ? cacheFile : null;
  scripts.set(file, { script, source, writeCache });
  if (scripts.size > MAX_SCRIPTS) scripts.delete(scripts.keys().next().value!);
  return script;
}

/** Writes the code cache of a script that has run, if it has none yet. Best effort: a cache is only a cache. */
export function saveCodeCache(file: string): void {
  const entry = scripts.get(file);
  if (!entry?.writeCache) return;
  const target = entry.writeCache;
  entry.writeCache = null;
  try {
    const tmp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    writeFileSync(tmp, entry.script.createCachedData());
    renameSync(tmp, target);
  } catch {
    // A read-only cache folder only costs the next worker a compile.
  }
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
    const c = Number(column) - 1 - (l === 0 ? WRAP_HEAD.length : 0);
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

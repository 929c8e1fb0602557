/**
 * V8's code caches of a task's CommonJS bundle (the script `isolation:
 * context` and `task` evaluate in fresh contexts). A pool worker that has not
 * compiled the bundle yet (every worker, on the first boundary after a start)
 * deserializes one instead of parsing the bundle.
 * - `<bundle>.<node>.v8c` is made when the bundle is written, without running
 *   the task (task code runs only under its own isolation, never to warm a
 *   cache): 0.55 -> 0.24 ms of thread CPU for a 6 KB bundle, measured. The
 *   functions V8 compiles lazily on a first run are not in it.
 * - `<bundle>.<node>.warm.v8c` is made by the worker that ran it, after the
 *   run, when that worker is idle: it covers those functions too (esbuild's
 *   decorator helpers, the class), which a first run in a worker otherwise
 *   compiles (0.4-1.3 ms of CPU a run in a burst of 1,000 tasks on 2 cores,
 *   measured).
 */
import { renameSync, writeFileSync } from "node:fs";
import vm from "node:vm";

/** The CommonJS wrapper, on the script's first line so its line numbers stay those of the file. */
export const SCRIPT_WRAP_HEAD = "(function (exports, require, module, __filename, __dirname, __thImportMetaUrl) {";

/** The source V8 compiles for a bundle (the cache is only valid for exactly this text). */
const wrapScript = (source: string): string => `${SCRIPT_WRAP_HEAD}${source}\n})`;

const CACHE_TAG = `${process.version}-${process.arch}`;

/** `<bundle>.<node version>-<arch>.v8c`: another Node version makes and reads its own. */
export const codeCachePath = (file: string): string => `${file}.${CACHE_TAG}.v8c`;

/** The cache a worker made after running the bundle (read first). */
export const warmCodeCachePath = (file: string): string => `${file}.${CACHE_TAG}.warm.v8c`;

/**
 * Whether a bundle may be compiled from a code cache. One with `import()` may
 * not: Node 20 drops the import() loader of a script read from a cache made
 * by another thread or process ("A dynamic import callback was not specified").
 */
export const cacheable = (source: string): boolean => !/\bimport\s*\(/.test(source);

export function compileScript(file: string, source: string, cachedData?: Buffer): vm.Script {
  return new vm.Script(wrapScript(source), {
    filename: file,
    cachedData,
    // import() in a task or a dependency loads through Node's own loader (into the worker's main realm).
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
}

/** Writes the warm code cache of `script` (compiled from `file`, and run). Best effort: a cache is only a cache. */
export function writeWarmCodeCache(file: string, script: vm.Script): void {
  const target = warmCodeCachePath(file);
  try {
    const tmp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, target);
  } catch {
    // A read-only cache folder only costs each worker a compile.
  }
}

/** The code cache of a bundle just written: compiled once here, not run (task code runs only in its isolation). */
export function bundleCodeCache(file: string, source: string): Buffer | null {
  if (!cacheable(source)) return null;
  try {
    return compileScript(file, source).createCachedData();
  } catch {
    // A bundle V8 cannot compile fails its run with the real error, not here.
    return null;
  }
}

/**
 * Keeps the build cache (bundles, manifests, dependency installs) to what the
 * task files use: a sweep a minute or so after the host starts and then daily, as
 * planCacheSweep decides. The host lock makes the data folder this process's
 * alone, so nothing else is building into it meanwhile.
 */
import { readdir, readFile, rm, stat } from "node:fs/promises";
import path from "node:path";
import { messageOf } from "../errors.ts";
import { DEPENDENCY_BUNDLES_DIR } from "../deps/dependency-externals.ts";
import { COMPLETE_MARKER } from "../deps/install-dependencies.ts";
import type { HostLog } from "../scheduler/scheduler-types.ts";
import { manifestPath } from "../task-file/bundle-manifest.ts";
import { planCacheSweep, type CacheEntry, type CacheView } from "./plan-cache-sweep.ts";

/** The first sweep waits out the start (its first boundaries, a burst of loads). */
const FIRST_SWEEP_MS = 60_000;
const SWEEP_EVERY_MS = 24 * 60 * 60 * 1000;
/** A bundle or manifest this recent may belong to a load in flight. */
const BUNDLE_GRACE_MS = 60 * 60 * 1000;
/** An install no task uses is kept a day after its last use: a task whose dependencies are changed back soon does not install again. */
const INSTALL_GRACE_MS = 24 * 60 * 60 * 1000;
/** `<dataDir>/deps/<key>` (dependency-key.ts); work folders (`<key>.tmp-…`) are the installer's to sweep. */
const INSTALL_DIR = /^[0-9a-f]{16}$/;

export interface BuildCacheFolders {
  bundleDir: string;
  manifestDir: string;
  depsDir: string;
}

/** What the catalog runs and knows, read at each sweep. */
export interface CacheUsers {
  /** Every task file the catalog knows, loaded or broken. */
  taskFiles(): Iterable<string>;
  /** The bundles its loaded tasks run. */
  loadedBundles(): Iterable<string>;
}

export interface CacheSweepResult {
  removed: number;
  /** What was found unused (removed at the next sweep, if still unused then). */
  unused: ReadonlySet<string>;
}

/** One sweep; `unusedBefore` from the sweep before (null: the first). Never throws: a folder it cannot read keeps its files. */
export async function sweepBuildCache(
  folders: BuildCacheFolders,
  users: CacheUsers,
  unusedBefore: ReadonlySet<string> | null,
  now = Date.now(),
): Promise<CacheSweepResult> {
  const view = await readCacheView(folders, users);
  const plan = planCacheSweep(view, { now, bundleGraceMs: BUNDLE_GRACE_MS, installGraceMs: INSTALL_GRACE_MS, unusedBefore });
  let removed = 0;
  for (const target of plan.remove) {
    try {
      await rm(target, { recursive: true, force: true });
      removed++;
    } catch {
      // Still there: the next sweep tries again.
    }
  }
  return { removed, unused: new Set(plan.unused) };
}

async function readCacheView(folders: BuildCacheFolders, users: CacheUsers): Promise<CacheView> {
  const installs: CacheEntry[] = [];
  for (const name of await names(folders.depsDir)) {
    if (!INSTALL_DIR.test(name)) continue;
    const dir = path.join(folders.depsDir, name);
    const made = await mtimeOf(path.join(dir, COMPLETE_MARKER));
    // Without the marker it is not a finished install (one in flight is written elsewhere): left alone.
    if (made !== null) installs.push({ path: dir, mtimeMs: made });
  }
  const bundleDirs = [folders.bundleDir, ...installs.map((i) => path.join(i.path, DEPENDENCY_BUNDLES_DIR))];
  const bundleFiles: CacheEntry[] = [];
  for (const dir of bundleDirs) bundleFiles.push(...(await entriesOf(dir)));
  const manifests: CacheView["manifests"][number][] = [];
  for (const entry of await entriesOf(folders.manifestDir)) {
    if (!entry.path.endsWith(".json")) {
      manifests.push({ ...entry, bundle: null });
      continue;
    }
    let bundle: string | null = null;
    try {
      bundle = (JSON.parse(await readFile(entry.path, "utf8")) as { bundle?: { path?: unknown } }).bundle?.path as string;
      if (typeof bundle !== "string") bundle = null;
    } catch {
      // Unreadable: it names nothing, and goes unless its task file is known.
    }
    manifests.push({ ...entry, bundle });
  }
  return {
    bundleFiles,
    manifests,
    installs,
    liveManifests: new Set([...users.taskFiles()].map((file) => manifestPath(folders.manifestDir, file))),
    loadedBundles: [...users.loadedBundles()],
  };
}

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

async function mtimeOf(file: string): Promise<number | null> {
  try {
    return (await stat(file)).mtimeMs;
  } catch {
    return null;
  }
}

async function entriesOf(dir: string): Promise<CacheEntry[]> {
  const entries: CacheEntry[] = [];
  for (const name of await names(dir)) {
    const file = path.join(dir, name);
    const mtimeMs = await mtimeOf(file);
    if (mtimeMs !== null) entries.push({ path: file, mtimeMs });
  }
  return entries;
}

/** Sweeps at the first half-minute FIRST_SWEEP_MS or more from now, then every SWEEP_EVERY_MS, until close() (which waits for a sweep under way). */
export function startCacheSweeps(folders: () => BuildCacheFolders, users: CacheUsers, log: HostLog): { close(): Promise<void> } {
  let unused: ReadonlySet<string> | null = null;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let closed = false;
  const sweep = async () => {
    const started = performance.now();
    const result = await sweepBuildCache(folders(), users, unused);
    unused = result.unused;
    // Said when nothing went too (once a day): whoever looks can tell the sweep ran.
    log.info(
      { event: "cache.swept", removed: result.removed, ms: Math.round(performance.now() - started) },
      `build cache swept: removed ${result.removed} bundle(s), manifest(s) or dependency install(s) no task file uses any more`,
    );
  };
  const next = (ms: number) => {
    if (closed) return;
    timer = setTimeout(() => {
      running = sweep()
        .catch((error: unknown) => log.warn({ event: "cache.sweep_failed", err: error }, `sweeping the build cache: ${messageOf(error)}`))
        .finally(() => next(SWEEP_EVERY_MS));
    }, ms);
    timer.unref();
  };
  // Half-way between minute boundaries, where the runs of most schedules are not.
  const first = Date.now() + FIRST_SWEEP_MS;
  next(FIRST_SWEEP_MS + ((90_000 - (first % 60_000)) % 60_000));
  let closing: Promise<void> | null = null;
  return {
    close() {
      closing ??= (async () => {
        closed = true;
        clearTimeout(timer);
        await running;
      })();
      return closing;
    },
  };
}

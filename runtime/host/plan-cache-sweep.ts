/**
 * What a sweep of the build cache removes (a pure decision; sweep-build-cache.ts
 * reads the folders and removes). Every edit of a task writes a new bundle
 * (`<hash>.mjs`, its `.cjs` twin and that twin's `.v8c` code caches) and a
 * change of its `dependencies` a new install, so a host edited for months
 * would keep every version it ever built.
 *
 * Kept:
 * - the manifest of every task file the catalog knows (a broken file's too: a
 *   save that reverts it reuses its bundle);
 * - the bundles that loaded tasks run, and those kept manifests name, with
 *   their `.cjs` twin and this Node's `.v8c` caches (another Node's are stale);
 * - the dependency installs a kept bundle lives in, and those a load used
 *   within the install grace (a lookup marks its install used);
 * - anything written within the grace: a load in flight writes its bundle
 *   before its manifest, and an install before either.
 *
 * A sweep after the first needs two: what is removed was unused at the sweep
 * before too, so a run that outlives a reload (or its retry) keeps the bundle
 * it was launched with.
 */
import path from "node:path";
import { scriptBundlePath } from "../task-file/bundle-task.ts";
import { codeCachePath, warmCodeCachePath } from "../task-file/script-code-cache.ts";

export interface CacheEntry {
  path: string;
  mtimeMs: number;
}

export interface CacheView {
  /** Files in the bundle folders: `data/cache/bundles` and each install's `bundles`. */
  bundleFiles: readonly CacheEntry[];
  /** Manifests, with the bundle each names (null: unreadable). */
  manifests: ReadonlyArray<CacheEntry & { bundle: string | null }>;
  /** Finished dependency installs: their folder, and when they were made or last used by a load. */
  installs: readonly CacheEntry[];
  /** The manifest paths of the task files the catalog knows. */
  liveManifests: ReadonlySet<string>;
  /** The bundles loaded tasks run. */
  loadedBundles: readonly string[];
}

export interface CacheSweepTiming {
  now: number;
  /** Bundles and manifests written within this long are kept. */
  bundleGraceMs: number;
  /** Installs made or used within this long are kept. */
  installGraceMs: number;
  /** What the sweep before found unused; null on the first sweep (nothing of this process is in flight yet). */
  unusedBefore: ReadonlySet<string> | null;
}

export interface CacheSweepPlan {
  /** Unused and past the grace. */
  unused: string[];
  /** What to remove now: unused, and unused at the sweep before (or the first sweep). */
  remove: string[];
}

export function planCacheSweep(view: CacheView, timing: CacheSweepTiming): CacheSweepPlan {
  const recent = (entry: CacheEntry, graceMs: number) => timing.now - entry.mtimeMs < graceMs;
  const unused: string[] = [];
  const kept = new Set<string>(view.loadedBundles);
  for (const manifest of view.manifests) {
    if (view.liveManifests.has(manifest.path) || recent(manifest, timing.bundleGraceMs)) {
      if (manifest.bundle) kept.add(manifest.bundle);
    } else unused.push(manifest.path);
  }
  const keptFiles = new Set<string>();
  for (const bundle of kept) {
    const script = scriptBundlePath(bundle);
    keptFiles.add(bundle).add(script).add(codeCachePath(script)).add(warmCodeCachePath(script));
  }
  // A bundle with dependencies lives in `<install>/bundles/`: its install is two folders up.
  const installOf = (file: string) => path.dirname(path.dirname(file));
  const used = new Set([...kept].map(installOf));
  for (const file of view.bundleFiles) if (recent(file, timing.bundleGraceMs)) used.add(installOf(file.path));
  const goneInstalls = new Set<string>();
  for (const install of view.installs) {
    if (used.has(install.path) || recent(install, timing.installGraceMs)) continue;
    goneInstalls.add(install.path);
    unused.push(install.path);
  }
  for (const file of view.bundleFiles) {
    // An install that goes takes its bundles with it.
    if (keptFiles.has(file.path) || recent(file, timing.bundleGraceMs) || goneInstalls.has(installOf(file.path))) continue;
    unused.push(file.path);
  }
  const remove = timing.unusedBefore ? unused.filter((p) => timing.unusedBefore!.has(p)) : unused;
  return { unused, remove };
}

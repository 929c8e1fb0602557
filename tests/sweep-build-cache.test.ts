/**
 * The build cache sweep on the folders a real `taskhost` wrote: bundles of an
 * edited task's older version and of a deleted task go, with their manifests
 * and code caches; what the task files use stays, and so does a dependency
 * install a load used lately.
 */
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { DependencyInstaller, COMPLETE_MARKER } from "../runtime/deps/install-dependencies.ts";
import { sweepBuildCache, type BuildCacheFolders } from "../runtime/host/sweep-build-cache.ts";
import { manifestPath } from "../runtime/task-file/bundle-manifest.ts";
import { taskSource } from "./support/task-sources.ts";
import { TempProject } from "./support/temp-project.ts";

let project: TempProject | undefined;
afterEach(async () => {
  await project?.cleanup();
  project = undefined;
});

const TWO_DAYS_AGO = new Date(Date.now() - 2 * 24 * 3_600_000);

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.relative(dir, path.join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

async function age(dir: string): Promise<void> {
  for (const file of await filesUnder(dir)) await utimes(path.join(dir, file), TWO_DAYS_AGO, TWO_DAYS_AGO);
}

/** Loads every task as a host does at its start (an offline command), so the cache holds their bundles. */
async function loadTasks(p: TempProject): Promise<void> {
  const result = await p.cli(["reset-schedules", "--dry-run"]);
  expect(result.code, result.stderr).toBe(0);
}

it("removes what no task file uses any more, and keeps each task's bundle, twin, code cache and manifest", async () => {
  project = await TempProject.create();
  const a = await project.writeTask("a.ts", taskSource({ schedule: "every(1).hours", body: 'ctx.log.info("a1");' }));
  const b = await project.writeTask("b.ts", taskSource({ schedule: "every(1).hours", body: 'ctx.log.info("b");' }));
  await loadTasks(project);
  await project.writeTask("a.ts", taskSource({ schedule: "every(1).hours", body: 'ctx.log.info("a2");' }));
  await rm(b);
  await loadTasks(project);

  const cache = path.join(project.root, "data", "cache");
  const folders: BuildCacheFolders = { bundleDir: path.join(cache, "bundles"), manifestDir: path.join(cache, "manifests"), depsDir: path.join(project.root, "data", "deps") };
  const bundleOf = async (file: string) => (JSON.parse(await readFile(manifestPath(folders.manifestDir, file), "utf8")) as { bundle: { path: string } }).bundle.path;
  const current = await bundleOf(a);
  const hash = path.basename(current, ".mjs");
  const before = await filesUnder(folders.bundleDir);
  // Three versions were built (a twice, b once), each an ES module, a CommonJS twin and its code cache.
  expect(before.filter((f) => f.endsWith(".mjs"))).toHaveLength(3);
  expect(before.filter((f) => f.endsWith(".v8c"))).toHaveLength(3);
  expect(await filesUnder(folders.manifestDir)).toHaveLength(2);

  const users = { taskFiles: () => [a], loadedBundles: () => [current] };
  // Written just now: all of it may belong to a load in flight.
  expect((await sweepBuildCache(folders, users, null)).removed).toBe(0);

  await age(cache);
  const result = await sweepBuildCache(folders, users, null);
  expect(result.removed).toBe(7);
  const after = await filesUnder(folders.bundleDir);
  expect(after).toHaveLength(3);
  expect(after.every((f) => f.startsWith(hash))).toBe(true);
  expect(await filesUnder(folders.manifestDir)).toEqual([path.basename(manifestPath(folders.manifestDir, a))]);
  // What stayed is what the next start reuses: nothing to bundle.
  await loadTasks(project);
  expect(await filesUnder(folders.bundleDir)).toEqual(after);
}, 120_000);

it("removes a dependency install no load used for a day, with its bundles, and keeps one a lookup just used", async () => {
  project = await TempProject.create();
  const dataDir = path.join(project.root, "data");
  const installer = new DependencyInstaller({ registry: null, installTimeoutSec: 60, dataDir });
  const folders: BuildCacheFolders = { bundleDir: path.join(dataDir, "cache", "bundles"), manifestDir: path.join(dataDir, "cache", "manifests"), depsDir: installer.options.depsDir };
  /** A finished install (what the installer leaves: the marker and a bundle built into it), two days old. */
  const install = async (specs: string[]) => {
    const dir = installer.dirFor(installer.keyFor(specs, { allowScripts: false }).key);
    await mkdir(path.join(dir, "bundles"), { recursive: true });
    await writeFile(path.join(dir, COMPLETE_MARKER), "{}\n");
    await writeFile(path.join(dir, "bundles", "0123.mjs"), "export {};\n");
    await age(dir);
    await utimes(dir, TWO_DAYS_AGO, TWO_DAYS_AGO);
    return dir;
  };
  const unused = await install(["left-pad@1.3.0"]);
  const used = await install(["dayjs@1.11.13"]);
  expect(await installer.lookup(["dayjs@1.11.13"], { allowScripts: false })).not.toBeNull();
  expect((await stat(path.join(used, COMPLETE_MARKER))).mtimeMs).toBeGreaterThan(Date.now() - 60_000);

  const result = await sweepBuildCache(folders, { taskFiles: () => [], loadedBundles: () => [] }, null);
  await expect(stat(unused)).rejects.toMatchObject({ code: "ENOENT" });
  expect(await filesUnder(used)).toEqual([COMPLETE_MARKER]);
  // The unused install, and the used one's bundle no manifest names.
  expect(result.removed).toBe(2);
  await installer.close();
});

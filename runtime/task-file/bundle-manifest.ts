import { createHash } from "node:crypto";
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { InspectResult } from "./bundle-inspection.ts";

/**
 * What was built from a task file last time, and from which inputs. When the
 * task's code and every file its bundle included hash the same, the bundle and
 * its schedules are reused as they are: a restart with 1,000 unchanged task
 * files bundles nothing and starts no inspect worker.
 */
export interface BundleManifest {
  version: 1;
  /** Everything besides the inputs that shapes the bundle (code, API, externals, output folder). */
  key: string;
  /** Local files the bundle included, with their content hashes. */
  inputs: Record<string, string>;
  bundle: { path: string; hash: string };
  inspected: InspectResult;
}

const hashes = new Map<string, { mtimeMs: number; size: number; hash: string }>();

/** sha256 of a file, remembered while its mtime and size stay the same. */
export async function hashFile(file: string): Promise<string | null> {
  try {
    const info = await stat(file);
    const known = hashes.get(file);
    if (known && known.mtimeMs === info.mtimeMs && known.size === info.size) return known.hash;
    const hash = createHash("sha256").update(await readFile(file)).digest("hex");
    hashes.set(file, { mtimeMs: info.mtimeMs, size: info.size, hash });
    return hash;
  } catch {
    return null;
  }
}

export function manifestKey(parts: Record<string, unknown>): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

/** `<dir>/<sha1 of the task file path>.json`. */
export function manifestPath(dir: string, taskFile: string): string {
  return path.join(dir, `${createHash("sha1").update(taskFile).digest("hex")}.json`);
}

/** The manifest of a task file if it is still true for `key` and the inputs on disk. */
export async function freshManifest(dir: string, taskFile: string, key: string): Promise<BundleManifest | null> {
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(await readFile(manifestPath(dir, taskFile), "utf8")) as BundleManifest;
  } catch {
    return null;
  }
  if (manifest.version !== 1 || manifest.key !== key) return null;
  if ((await hashFile(manifest.bundle.path)) == null) return null;
  for (const [input, hash] of Object.entries(manifest.inputs)) {
    if ((await hashFile(input)) !== hash) return null;
  }
  return manifest;
}

export async function writeManifest(dir: string, taskFile: string, manifest: BundleManifest): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = manifestPath(dir, taskFile);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(manifest));
  await rename(tmp, file);
}

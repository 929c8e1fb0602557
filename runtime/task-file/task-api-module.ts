import { createHash } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { TASK_API_ENTRY } from "../runtime-paths.ts";

export interface TaskApiModule {
  /** file: URL task bundles import `taskhost` from. */
  url: string;
  /** Changes whenever the API's code does (part of every bundle's cache key). */
  hash: string;
}

const building = new Map<string, Promise<TaskApiModule>>();

/**
 * The `taskhost` module, compiled once per host into one ES module that every
 * task bundle imports instead of carrying its own copy: bundles stay a few
 * kilobytes, so bundling, loading and each run's import are all faster.
 */
export function taskApiModule(cacheDir: string): Promise<TaskApiModule> {
  let pending = building.get(cacheDir);
  if (!pending) {
    pending = compile(cacheDir);
    building.set(cacheDir, pending);
    pending.catch(() => building.delete(cacheDir));
  }
  return pending;
}

async function compile(cacheDir: string): Promise<TaskApiModule> {
  const result = await build({
    entryPoints: [TASK_API_ENTRY],
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    target: "node20",
    logLevel: "silent",
  });
  const contents = result.outputFiles[0]!.contents;
  const hash = createHash("sha256").update(contents).digest("hex").slice(0, 16);
  await mkdir(cacheDir, { recursive: true });
  const file = path.join(cacheDir, `taskhost-api-${hash}.mjs`);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, contents);
  await rename(tmp, file);
  return { url: pathToFileURL(file).href, hash };
}

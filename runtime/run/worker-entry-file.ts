import { mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { build } from "esbuild";
import { RUNTIME_DIR } from "../runtime-paths.ts";

const building = new Map<string, Promise<string>>();

/**
 * Compiles the worker entry to plain JS once per cache folder, so every run's
 * worker starts on `node` alone (no TypeScript loader: faster, fewer moving parts).
 */
export function workerEntryFile(cacheDir: string): Promise<string> {
  let pending = building.get(cacheDir);
  if (!pending) {
    pending = compile(cacheDir);
    building.set(cacheDir, pending);
    pending.catch(() => building.delete(cacheDir));
  }
  return pending;
}

async function compile(cacheDir: string): Promise<string> {
  const result = await build({
    entryPoints: [path.join(RUNTIME_DIR, "run", "worker-entry.ts")],
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    target: "node20",
    logLevel: "silent",
  });
  await mkdir(cacheDir, { recursive: true });
  const out = path.join(cacheDir, "worker-entry.mjs");
  const tmp = `${out}.${process.pid}.tmp`;
  await writeFile(tmp, result.outputFiles[0]!.contents);
  await rename(tmp, out);
  return out;
}

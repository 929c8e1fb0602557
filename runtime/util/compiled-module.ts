import { createHash } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { build } from "./esbuild-service.ts";

export interface CompiledModule {
  /** Absolute path of `<name>-<hash>.mjs` in the cache folder. */
  file: string;
  /** Changes whenever the compiled code does. */
  hash: string;
}

const compiled = new Map<string, Promise<CompiledModule>>();

/**
 * Compiles one of taskhost's own TypeScript entry points to a plain ES module,
 * once per process and cache folder, so workers and task bundles load it with
 * `node` alone (no TypeScript loader). Named by content, so a runtime upgrade
 * never reuses an old file.
 */
export function compiledModule(cacheDir: string, entry: string, name: string, format: "esm" | "cjs" = "esm"): Promise<CompiledModule> {
  const key = `${cacheDir}\0${entry}\0${format}`;
  let pending = compiled.get(key);
  if (!pending) {
    pending = compile(cacheDir, entry, name, format);
    compiled.set(key, pending);
    pending.catch(() => compiled.delete(key));
  }
  return pending;
}

async function compile(cacheDir: string, entry: string, name: string, format: "esm" | "cjs"): Promise<CompiledModule> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format,
    platform: "node",
    target: "node20",
    logLevel: "silent",
  });
  const contents = result.outputFiles[0]!.contents;
  const hash = createHash("sha256").update(contents).digest("hex").slice(0, 16);
  await mkdir(cacheDir, { recursive: true });
  const file = path.join(cacheDir, `${name}-${hash}.${format === "esm" ? "mjs" : "cjs"}`);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, contents);
  await rename(tmp, file);
  return { file, hash };
}

import path from "node:path";
import { RUNTIME_DIR } from "../runtime-paths.ts";
import { compiledModule } from "../util/compiled-module.ts";

/** The worker entry every run and inspection starts from, compiled to plain JS in `cacheDir`. */
export async function workerEntryFile(cacheDir: string): Promise<string> {
  return (await compiledModule(cacheDir, path.join(RUNTIME_DIR, "run", "worker-entry.ts"), "worker-entry")).file;
}

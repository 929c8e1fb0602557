import path from "node:path";
import { RUNTIME_DIR } from "../../runtime-paths.ts";
import { compiledModule } from "../../util/compiled-module.ts";

/** The isolate workers' entry, compiled to plain JS in `cacheDir` (like the worker entry). */
export async function isolateEntryFile(cacheDir: string): Promise<string> {
  return (await compiledModule(cacheDir, path.join(RUNTIME_DIR, "run", "isolates", "isolate-entry.ts"), "isolate-entry")).file;
}

import path from "node:path";
import { RUNTIME_DIR } from "../../runtime-paths.ts";
import { compiledModule } from "../../util/compiled-module.ts";
import { taskApiScript } from "./api-script.ts";

/** What isolate workers start from: their entry and the shared `taskhost` script, compiled to plain JS in `cacheDir`. */
export interface IsolateToolchain {
  entryFile: string;
  apiScript: string;
}

export async function isolateToolchain(cacheDir: string): Promise<IsolateToolchain> {
  const [entry, apiScript] = await Promise.all([
    compiledModule(cacheDir, path.join(RUNTIME_DIR, "run", "isolates", "isolate-entry.ts"), "isolate-entry"),
    taskApiScript(cacheDir),
  ]);
  return { entryFile: entry.file, apiScript };
}

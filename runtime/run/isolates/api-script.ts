import { TASK_API_ENTRY } from "../../runtime-paths.ts";
import { compiledModule } from "../../util/compiled-module.ts";

/**
 * The `taskhost` module as one CommonJS script in `cacheDir`: every task
 * bundle run in a context requires it, so a worker compiles it once (not once
 * per bundle) and each context evaluates its own copy.
 */
export async function taskApiScript(cacheDir: string): Promise<string> {
  return (await compiledModule(cacheDir, TASK_API_ENTRY, "taskhost-api", "cjs")).file;
}

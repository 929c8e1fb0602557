import { pathToFileURL } from "node:url";
import { TASK_API_ENTRY } from "../runtime-paths.ts";
import { compiledModule } from "../util/compiled-module.ts";

export interface TaskApiModule {
  /** file: URL task bundles import `taskhost` from. */
  url: string;
  /** Changes whenever the API's code does (part of every bundle's cache key). */
  hash: string;
}

/**
 * The `taskhost` module, compiled once per host into one ES module that every
 * task bundle imports instead of carrying its own copy: bundles stay a few
 * kilobytes, so bundling, loading and each run's import are all faster.
 */
export async function taskApiModule(cacheDir: string): Promise<TaskApiModule> {
  const { file, hash } = await compiledModule(cacheDir, TASK_API_ENTRY, "taskhost-api");
  return { url: pathToFileURL(file).href, hash };
}

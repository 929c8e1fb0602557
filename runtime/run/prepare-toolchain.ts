import path from "node:path";
import { taskApiModule } from "../task-file/task-api-module.ts";
import type { Toolchain } from "../task-file/toolchain.ts";
import { createBundleInspector } from "./bundle-inspector.ts";
import type { TaskPaths } from "./task-paths.ts";
import { workerEntryFile } from "./worker-entry-file.ts";

/**
 * Compiles the worker entry and the `taskhost` module into `cacheDir` (in
 * parallel) and makes the bundle inspector, whose workers get `paths`.
 * Dispose `inspector` when done.
 */
export async function prepareToolchain(cacheDir: string, paths?: TaskPaths): Promise<Toolchain> {
  const [entryFile, apiModule] = await Promise.all([workerEntryFile(cacheDir), taskApiModule(cacheDir)]);
  return {
    entryFile,
    apiModule,
    bundleDir: path.join(cacheDir, "bundles"),
    manifestDir: path.join(cacheDir, "manifests"),
    inspector: createBundleInspector({ entryFile, paths }),
  };
}

import path from "node:path";
import { workerEntryFile } from "../run/worker-entry-file.ts";
import { taskApiModule, type TaskApiModule } from "./task-api-module.ts";
import { createBundleInspector, type BundleInspector } from "../run/bundle-inspector.ts";
import type { TaskPaths } from "../run/task-paths.ts";

/** The compiled pieces and cache folders every task load and run uses. */
export interface Toolchain {
  /** The worker entry every run and inspection starts from. */
  entryFile: string;
  apiModule: TaskApiModule;
  bundleDir: string;
  manifestDir: string;
  /** Reads a bundle's schedules in a worker (pooled: a cold start imports many). */
  inspector: BundleInspector;
  /** Where the project is, for the task code its workers run. */
  paths?: TaskPaths;
}

/** Compiles the worker entry and the `taskhost` module into `cacheDir` (in parallel). Dispose `inspector` when done. */
export async function prepareToolchain(cacheDir: string, paths?: TaskPaths): Promise<Toolchain> {
  const [entryFile, apiModule] = await Promise.all([workerEntryFile(cacheDir), taskApiModule(cacheDir)]);
  return {
    entryFile,
    apiModule,
    bundleDir: path.join(cacheDir, "bundles"),
    manifestDir: path.join(cacheDir, "manifests"),
    inspector: createBundleInspector({ entryFile, paths }),
    paths,
  };
}

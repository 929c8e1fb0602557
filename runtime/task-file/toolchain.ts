import type { BundleInspector } from "./bundle-inspection.ts";
import type { TaskApiModule } from "./task-api-module.ts";

/**
 * The compiled pieces and cache folders every task load and run uses
 * (run/prepare-toolchain.ts makes them).
 */
export interface Toolchain {
  /** The worker entry every run and inspection starts from. */
  entryFile: string;
  apiModule: TaskApiModule;
  bundleDir: string;
  manifestDir: string;
  /** Reads a bundle's schedules in a worker (pooled: a cold start imports many). */
  inspector: BundleInspector;
}

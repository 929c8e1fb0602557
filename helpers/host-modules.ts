import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { getProjectRoot } from "./project-root.ts";

/**
 * Packages taskhost itself depends on (node-notifier, sql.js, tsx) are loaded
 * at run time from taskhost's own installation rather than bundled into each
 * task: they locate files next to their own code (`__dirname`, `.wasm`), which
 * a bundle cannot. Where that installation is: TASKHOST_PACKAGE_DIR (set by the
 * host), else wherever this module resolves them from (the helpers' own folder
 * when not bundled, or the bundle cache inside the project), else the project root.
 */
function anchors(): string[] {
  const list: string[] = [];
  const fromEnv = process.env.TASKHOST_PACKAGE_DIR;
  if (fromEnv) list.push(path.join(fromEnv, "package.json"));
  if (typeof import.meta.url === "string" && import.meta.url.startsWith("file:")) list.push(new URL(import.meta.url).pathname);
  list.push(path.join(getProjectRoot(), "package.json"));
  return list;
}

/** Resolves `specifier` (e.g. `"sql.js/dist/sql-wasm.wasm"`) against taskhost's installation. */
export function resolveHostModule(specifier: string): string {
  const tried: string[] = [];
  for (const anchor of anchors()) {
    try {
      return createRequire(anchor).resolve(specifier);
    } catch {
      tried.push(path.dirname(anchor));
    }
  }
  throw new Error(
    `taskhost helpers: cannot find the package "${specifier}" (looked from ${tried.join(", ")}); ` +
      "run `npm install` in the taskhost folder, or set TASKHOST_PACKAGE_DIR to it",
  );
}

/** `require()` of a package from taskhost's installation (see resolveHostModule). */
export function requireHostModule<T>(specifier: string): T {
  const resolved = resolveHostModule(specifier);
  return createRequire(resolved)(resolved) as T;
}

/** The folder of an installed package, found through its package.json. */
export function hostPackageDir(name: string): string {
  const dir = path.dirname(resolveHostModule(`${name}/package.json`));
  if (!existsSync(dir)) throw new Error(`taskhost helpers: ${name} is not installed`);
  return dir;
}

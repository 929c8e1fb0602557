/**
 * How bundling treats a task's npm dependencies (issue 3, item 5).
 *
 * Decision: the packages a task lists in `dependencies` are NOT bundled. esbuild
 * marks each listed name (and its subpaths, `name/*`) `external`, so the bundle
 * keeps `import ... from "dayjs"` as it is, and the bundle file is written INSIDE
 * the task's install folder, `<dataDir>/deps/<key>/bundles/<hash>.mjs`. At run
 * time Node resolves the import the ordinary way, from the bundle's folder
 * upwards, and finds `<dataDir>/deps/<key>/node_modules/dayjs`. So packages work
 * exactly as they do under plain Node: native addons (`.node` files), computed
 * `require(path.join(__dirname, ...))`, files a package reads next to itself,
 * `exports` conditions, and packages' own dependencies (two tasks with two
 * versions of one package each resolve their own folder). esbuild never reads
 * the packages, so a task's syntax errors can be found while npm still runs;
 * only writing the bundle file waits for the install folder.
 *
 * Consequences:
 * - Only listed packages are external. A bare import of a package the task does
 *   not list is bundled as before, from wherever esbuild finds it.
 * - The worker imports the external package with Node's ESM loader: an ES
 *   module package works as usual; for a CommonJS package the default import is
 *   `module.exports`, and named imports work when Node's cjs-module-lexer can see
 *   them (`exports.x = ...`, `module.exports = { x }`); a package that builds its
 *   exports at run time (lodash's `import { debounce } from "lodash"`) needs
 *   `import _ from "lodash"`. A bundled package would not have had that limit.
 * - A task without dependencies is bundled exactly as before, into the shared
 *   bundle cache.
 */
import path from "node:path";
import { normaliseDependencies } from "./dependency-key.ts";

/** Folder inside an install folder where the bundles of its tasks go. */
export const DEPENDENCY_BUNDLES_DIR = "bundles";

/**
 * The esbuild `external` entries for a task's dependency specs: every package
 * name and its subpaths (`dayjs`, `dayjs/*`), sorted. Throws a
 * DependencyInstallError for a spec the installer would refuse.
 */
export function dependencyExternals(specs: readonly string[]): string[] {
  return normaliseDependencies(specs).flatMap((dep) => [dep.name, `${dep.name}/*`]);
}

/** Where a task's bundle goes when it has dependencies: `<installDir>/bundles`. */
export function dependencyBundleDir(installDir: string): string {
  return path.join(installDir, DEPENDENCY_BUNDLES_DIR);
}

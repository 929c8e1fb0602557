/**
 * The content key of a task's dependency set: tasks whose sets mean the same
 * share one install folder `<dataDir>/deps/<key>/`; different sets (two
 * versions of one package) get different folders.
 *
 * Normalisation (each spec parsed with npm-package-arg, as npm itself does):
 * - order and exact repeats do not matter; entries are sorted by package name;
 * - a bare name, `name@` and `name@*` are the same range `*`;
 * - a range is written the way semver reads it (`^1.11`, `1.11.x`, `>=1.11.0 <2`
 *   → `>=1.11.0 <2.0.0-0`), an exact version without `v`/`=` (`v1.2.3` → `1.2.3`);
 * - a dist-tag stays as it is, and is NOT folded into `*`: `latest` and `*` pick
 *   the same version only while `latest` is the highest release, so folding them
 *   could hand a task a version npm would not have given it. The price of keeping
 *   them apart is at most one more install.
 * The key also covers `allow_scripts` (the same packages with and without their
 * install scripts are different folders), the registry, the platform and CPU
 * (optional and prebuilt packages differ by platform), and, when scripts run,
 * Node's module ABI (an addon compiled by an install script only loads on the
 * Node it was built for, so a Node upgrade gets a fresh install).
 * npm's own version is not part of it: a finished install stays valid.
 */
import { createHash } from "node:crypto";
import npa from "npm-package-arg";
import semver from "semver";
import { dependencySpecProblem } from "./dependency-spec.ts";
import { DependencyInstallError } from "./dependency-install-error.ts";
import { normaliseRegistry } from "./resolve-dependency-options.ts";

/** Bump when the layout of an install folder changes: old folders are then left alone. */
export const DEPENDENCY_LAYOUT_VERSION = 1;

export interface DependencyKeyInput {
  specs: readonly string[];
  allowScripts: boolean;
  /** Registry URL (a trailing slash does not matter) or null (npm's own configuration). */
  registry: string | null;
}

export interface NormalisedDependency {
  name: string;
  /** Canonical range, version or tag, as written into the install's package.json. */
  spec: string;
}

export interface DependencyKey {
  /** 16 hex digits of a sha256. */
  key: string;
  /** Sorted by name, one entry per package. */
  dependencies: readonly NormalisedDependency[];
  /** `name@spec` of each, sorted: for messages. */
  canonical: readonly string[];
}

/**
 * Parses and canonicalises one spec. Throws a DependencyInstallError for
 * anything that is not a registry name/range/version/tag (the same rule as the
 * frontmatter parser: the installer never hands npm anything else).
 */
export function normaliseDependency(spec: string): NormalisedDependency {
  const problem = typeof spec === "string" ? dependencySpecProblem(spec) : "is not a string";
  if (problem) {
    throw new DependencyInstallError(`dependency ${JSON.stringify(spec)} ${problem}`, "invalid-spec", [String(spec)]);
  }
  const parsed = npa(spec, "/");
  const name = parsed.name!;
  const raw = parsed.fetchSpec ?? "*";
  let canonical: string;
  if (parsed.type === "version") {
    canonical = semver.valid(raw, true) ?? raw;
  } else if (parsed.type === "range") {
    const range = semver.validRange(raw, { loose: true });
    canonical = range === null || range === "" ? "*" : range;
  } else {
    canonical = raw;
  }
  return { name, spec: canonical };
}

/** Normalises a set of specs (see the module comment); two versions of one package throw. */
export function normaliseDependencies(specs: readonly string[]): NormalisedDependency[] {
  const byName = new Map<string, { dep: NormalisedDependency; written: string }>();
  for (const written of specs) {
    const dep = normaliseDependency(written);
    const earlier = byName.get(dep.name);
    if (earlier && earlier.dep.spec !== dep.spec) {
      throw new DependencyInstallError(
        `dependencies ${JSON.stringify(earlier.written)} and ${JSON.stringify(written)} ask for two versions of ${dep.name}; list each package once`,
        "invalid-spec",
        [...specs],
      );
    }
    if (!earlier) byName.set(dep.name, { dep, written });
  }
  return [...byName.values()].map((entry) => entry.dep).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function dependencyKey(input: DependencyKeyInput): DependencyKey {
  const dependencies = normaliseDependencies(input.specs);
  const material = {
    layout: DEPENDENCY_LAYOUT_VERSION,
    dependencies: dependencies.map((d) => [d.name, d.spec]),
    allowScripts: input.allowScripts,
    registry: input.registry === null ? null : normaliseRegistry(input.registry),
    platform: `${process.platform}-${process.arch}`,
    ...(input.allowScripts ? { abi: process.versions.modules } : {}),
  };
  const key = createHash("sha256").update(JSON.stringify(material)).digest("hex").slice(0, 16);
  return { key, dependencies, canonical: dependencies.map((d) => `${d.name}@${d.spec}`) };
}

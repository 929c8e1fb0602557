/**
 * Which dependency specs taskhost hands npm (contract §5): a registry package
 * name with an optional version, range or tag, nothing else. Shared by the
 * frontmatter parser and the installer, so a spec refused at load is refused
 * the same way at install.
 */
import npa from "npm-package-arg";
import semver from "semver";

const KIND: Record<string, string> = {
  git: "a git repository",
  directory: "a local path",
  file: "a local file",
  remote: "a URL",
  alias: 'an alias ("npm:")',
};

/** What a path looks like to npm: ./x, ../x, /x, ~/x, file:x, C:\x. */
const LOOKS_LIKE_PATH = /^(?:\.{1,2}(?:[\\/]|$)|[\\/]|~|file:|[a-zA-Z]:[\\/])/;
/** A range's operators standing alone: `1 - 2`, `1 || 2`, `>= 1`. */
const RANGE_OPERATOR = /^(?:-|\|\||[<>]=?|=|~|\^)$/;

/**
 * Why a dependency spec is refused, or null when it is a plain registry spec
 * (`name`, `name@version|range|tag`, `@scope/name@...`). Every reason is the
 * true one (issue 11.11): a flag is a flag, two specs in one entry are a
 * missing comma, `@scope/` is a scope without a name, not "a local path".
 */
export function dependencySpecProblem(spec: string): string | null {
  if (spec.trim() === "") return "is empty";
  if (spec !== spec.trim()) return "has leading or trailing spaces";
  const words = spec.split(/\s+/);
  // npa would read "--registry=x" as a name, or fold "lodash@4 --foreground-scripts" into a range; npm would read a flag.
  const flag = words.find((word) => word.startsWith("-") && word !== "-");
  if (flag === words[0]) return "looks like a command-line flag; only package specs are allowed";
  if (flag) return `carries ${JSON.stringify(flag)}, which looks like a command-line flag; only package specs are allowed`;
  const second = words.slice(1).find((word) => !RANGE_OPERATOR.test(word) && semver.validRange(word, { loose: true }) === null);
  if (second !== undefined && isPackageSpec(second)) {
    const first = JSON.stringify(spec.slice(0, spec.indexOf(second)).trim());
    return `is not a valid npm package spec: it holds two, ${first} and ${JSON.stringify(second)} (a comma missing?); give each its own entry: [${first}, ${JSON.stringify(second)}]`;
  }
  if (/^@[^/@]*\/?$/.test(spec)) return "is a scope without a package name; write @scope/name";
  let parsed: npa.Result;
  try {
    parsed = npa(spec, "/");
  } catch (err) {
    return `is not a valid npm package spec (${(err as Error).message})`;
  }
  if ((parsed.type === "directory" || parsed.type === "file") && !LOOKS_LIKE_PATH.test(spec)) {
    return "is not a valid npm package name (names are lower-case letters, digits, - . _ and an optional @scope/)";
  }
  if (!parsed.registry || !["version", "range", "tag"].includes(parsed.type) || !parsed.name) {
    return `is ${KIND[parsed.type] ?? `a "${parsed.type}" spec`}; only registry packages are allowed (name, name@range, @scope/name@tag)`;
  }
  if (second !== undefined) return `has ${JSON.stringify(second)} in its version range, which is not a version`;
  return null;
}

/** Whether `word` alone reads as a registry package spec (`lodash`, `@scope/x@1`). */
function isPackageSpec(word: string): boolean {
  try {
    const parsed = npa(word, "/");
    return Boolean(parsed.registry && parsed.name);
  } catch {
    return false;
  }
}

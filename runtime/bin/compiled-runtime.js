// taskhost's own TypeScript, compiled once to plain ES modules (esbuild, split
// into chunks so each command loads only what it uses) in
// node_modules/.cache/taskhost/, and run from there with `node` alone.
//
// Why: run through tsx's loader, every taskhost process (the supervisor and the
// host, for as long as they live) carried the loader's own thread and its
// compiled-module cache, ~30 MB of RSS each, and transformed each of its ~200
// modules again at every start. The compiled copy is named by a key of every
// source file's path, size and modification time, so an edit is picked up at
// the next start; where it cannot be written (a read-only install), the
// caller falls back to tsx.
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const SOURCES = ["runtime", "helpers"];
const CACHE_DIR = path.join(PACKAGE_DIR, "node_modules", ".cache", "taskhost");

/** Every source file's path, size and mtime, with Node's and esbuild's versions: a changed file changes the key. */
function sourceKey() {
  const hash = createHash("sha256");
  hash.update(`${process.version}\0${readFileSync(path.join(PACKAGE_DIR, "package.json"), "utf8")}\0`);
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (/\.(ts|js|mjs|json)$/.test(entry.name)) {
        const stat = statSync(file);
        hash.update(`${path.relative(PACKAGE_DIR, file)}\0${stat.size}\0${stat.mtimeMs}\0`);
      }
    }
  };
  for (const dir of SOURCES) walk(path.join(PACKAGE_DIR, dir));
  return hash.digest("hex").slice(0, 16);
}

/**
 * Each module keeps its own `import.meta.url` (taskhost finds its files, the
 * dashboard's pages and its workers' entries next to its sources), so a
 * compiled module reads as the source file it came from.
 */
const keepImportMetaUrl = {
  name: "keep-import-meta-url",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = readFileSync(args.path, "utf8");
      if (!source.includes("import.meta.url")) return undefined;
      // On the syntax tree, not the text: the words may also appear in strings.
      const define = { "import.meta.url": JSON.stringify(pathToFileURL(args.path).href) };
      const { code } = await build.esbuild.transform(source, { loader: "ts", format: "esm", target: "esnext", define, sourcefile: args.path });
      return { contents: code, loader: "js" };
    });
  },
};

/** The compiled entry module of `runtime/cli/main.ts` (built now if the sources changed), or null if it cannot be. */
export async function compiledCli() {
  const key = sourceKey();
  const dir = path.join(CACHE_DIR, `runtime-${key}`);
  const entry = path.join(dir, "main.js");
  if (existsSync(entry)) return entry;
  try {
    const esbuild = await import("esbuild");
    const tmp = `${dir}.${process.pid}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    await esbuild.build({
      entryPoints: { main: path.join(PACKAGE_DIR, "runtime", "cli", "main.ts") },
      outdir: tmp,
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "node",
      target: "node20",
      packages: "external",
      sourcemap: "linked",
      logLevel: "silent",
      plugins: [keepImportMetaUrl],
    });
    // The esbuild service has done its work: it must not live on in a taskhost process.
    await esbuild.stop();
    mkdirSync(CACHE_DIR, { recursive: true });
    try {
      renameSync(tmp, dir);
    } catch (error) {
      // Another taskhost process built the same key first.
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(entry)) throw error;
    }
    forgetOlder(dir);
    return entry;
  } catch (error) {
    if (process.env.TASKHOST_DEBUG_COMPILE) console.error(error);
    return null;
  }
}

/** Compiled copies of older sources go (a day after they were last written: a process may still be starting from one). */
function forgetOlder(keep) {
  const dayAgo = Date.now() - 24 * 60 * 60 * 1000;
  for (const name of readdirSync(CACHE_DIR)) {
    const dir = path.join(CACHE_DIR, name);
    if (dir === keep || !name.startsWith("runtime-")) continue;
    try {
      if (statSync(dir).mtimeMs < dayAgo) rmSync(dir, { recursive: true, force: true });
    } catch {
      // gone already
    }
  }
}

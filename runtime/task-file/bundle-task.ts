import { createHash } from "node:crypto";
import { access, mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { BuildFailure, Message, Plugin } from "esbuild";
import { build } from "../util/esbuild-service.ts";
import { HELPERS_ENTRY } from "../runtime-paths.ts";
import { bundleCodeCache, codeCachePath } from "./script-code-cache.ts";

export { ERR_TASK_BUNDLE } from "../errors.ts";
import { ERR_TASK_BUNDLE } from "../errors.ts";

export interface BundleTaskOptions {
  /** Absolute path of the task file. */
  file: string;
  /** Its source with any bare frontmatter block blanked out (line numbers kept). */
  code: string;
  projectRoot: string;
  /** Where bundles are written, e.g. `<data>/cache/bundles`, or `<data>/deps/<key>/bundles` for a task with dependencies. */
  outDir: string;
  /** Package names left as imports (a task's dependencies, see runtime/deps/dependency-externals.ts). */
  external?: readonly string[];
  /** The compiled `taskhost` module (see taskApiModule) the bundle imports instead of inlining it. */
  apiModuleUrl: string;
}

export interface TaskBundle {
  /** Absolute path of the written ES module. */
  path: string;
  /** Content hash of the bundle output. */
  hash: string;
  /** Absolute paths of every local file the bundle includes (the task, helpers...). */
  inputs: string[];
  bundleMs: number;
  /** Reused from the warm-start cache: nothing was bundled or inspected. */
  cached?: boolean;
}

/** An esbuild error with the task file's `file:line:column`. */
export class TaskBundleError extends Error {
  readonly code = ERR_TASK_BUNDLE;
  constructor(message: string, readonly location: { file: string; line: number; column: number } | null) {
    super(message);
    this.name = "TaskBundleError";
  }
}

// CommonJS packages bundled into an ES module still call require() for Node builtins.
const REQUIRE_SHIM =
  'import { createRequire as __thCreateRequire } from "node:module";' +
  "const require = __thCreateRequire(import.meta.url);";

/**
 * Bundles one task file into an ES module. `taskhost` resolves to the host's
 * compiled API module and `taskhost/helpers` to the runtime's helpers, so a
 * task finds both wherever the tasks directory is. Decorators are lowered by
 * esbuild (TC39 semantics; Node 20 has no native support).
 */
export async function bundleTask(options: BundleTaskOptions): Promise<TaskBundle> {
  const started = performance.now();
  // Built beside the ES module, in parallel; it never fails the load.
  const script = scriptBundle(options);
  let result;
  try {
    result = await build({
      stdin: {
        contents: options.code,
        sourcefile: options.file,
        resolveDir: path.dirname(options.file),
        loader: "ts",
      },
      bundle: true,
      write: false,
      // Where the bundle will live, so source-map paths resolve back to tasks/x.ts.
      outfile: path.join(options.outDir, "task.mjs"),
      metafile: true,
      format: "esm",
      platform: "node",
      target: "node20",
      sourcemap: "inline",
      sourceRoot: undefined,
      logLevel: "silent",
      banner: { js: REQUIRE_SHIM },
      alias: { "taskhost/helpers": HELPERS_ENTRY },
      plugins: [
        {
          name: "taskhost-api",
          setup(b) {
            b.onResolve({ filter: /^taskhost$/ }, () => ({ path: options.apiModuleUrl, external: true }));
          },
        },
        dependencyJsonPlugin(options.external ?? []),
      ],
      external: options.external ? [...options.external] : [],
      absWorkingDir: options.projectRoot,
    });
  } catch (error) {
    throw toBundleError(error, options);
  }
  const output = result.outputFiles[0]!.contents;
  const hash = createHash("sha256").update(output).digest("hex").slice(0, 32);
  await mkdir(options.outDir, { recursive: true });
  const outPath = path.join(options.outDir, `${hash}.mjs`);
  // Same content, same name: an existing bundle is already correct.
  await writeOnce(outPath, () => output);
  const scriptPath = scriptBundlePath(outPath);
  await writeOnce(scriptPath, () => script);
  await writeOnce(codeCachePath(scriptPath), async () => {
    const bytes = await script;
    return bytes && bundleCodeCache(scriptPath, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
  });
  const inputs = Object.keys(result.metafile.inputs)
    .filter((input) => !input.startsWith("<stdin>") && !input.includes("node_modules/"))
    .map((input) => path.resolve(options.projectRoot, input));
  return { path: outPath, hash, inputs: [options.file, ...inputs], bundleMs: performance.now() - started };
}

/**
 * Where the CommonJS twin of an ES module bundle lives. `isolation: context`
 * and `task` run it as a `vm.Script` (compiled once per worker, with V8's code
 * cache) in fresh contexts: ES modules in `vm.SourceTextModule` leak (~150 MB
 * per 1,000 runs measured), scripts do not. Absent when the task cannot be a
 * script (top-level await): such a task runs as `isolation: worker`.
 */
export function scriptBundlePath(bundlePath: string): string {
  return bundlePath.replace(/\.mjs$/, ".cjs");
}

/** The same task as a CommonJS script, or null when it cannot be one. */
async function scriptBundle(options: BundleTaskOptions): Promise<Uint8Array | null> {
  try {
    const result = await build({
      stdin: { contents: options.code, sourcefile: options.file, resolveDir: path.dirname(options.file), loader: "ts" },
      bundle: true,
      write: false,
      outfile: path.join(options.outDir, "task.cjs"),
      format: "cjs",
      platform: "node",
      target: "node20",
      sourcemap: "inline",
      // Only for mapping stack frames: the sources themselves need not be parsed again in every worker.
      sourcesContent: false,
      logLevel: "silent",
      // The run's loader passes these in (see runtime/run/isolates/script-loader.ts).
      define: { "import.meta.url": "__thImportMetaUrl", "import.meta.dirname": "__dirname", "import.meta.filename": "__filename" },
      alias: { "taskhost/helpers": HELPERS_ENTRY },
      // `taskhost` stays a require(): the context's loader gives every bundle one shared compiled copy.
      external: ["taskhost", ...(options.external ?? [])],
      absWorkingDir: options.projectRoot,
    });
    return result.outputFiles[0]!.contents;
  } catch {
    return null;
  }
}

async function writeOnce(file: string, contents: () => Uint8Array | null | Promise<Uint8Array | null>): Promise<void> {
  if (await exists(file)) return;
  const bytes = await contents();
  if (!bytes) return;
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, file);
}

const DEPENDENCY_JSON = "taskhost-dependency-json";

/**
 * `import pkg from "dep/package.json"` from a listed dependency: the package stays
 * external (see dependency-externals.ts), and Node's ESM loader refuses a JSON
 * import without `with { type: "json" }` (experimental on Node 20). tsx and
 * Vite accept it, so here too: the import becomes a require() from the bundle's
 * own folder, which resolves in the task's install folder like any dependency.
 * (A task's own JSON files are bundled by esbuild's json loader.)
 */
function dependencyJsonPlugin(external: readonly string[]): Plugin {
  const names = external.filter((e) => !e.endsWith("/*"));
  const isDependency = (specifier: string) => names.some((name) => specifier.startsWith(`${name}/`));
  return {
    name: DEPENDENCY_JSON,
    setup(b) {
      b.onResolve({ filter: /\.json$/ }, (args) => (isDependency(args.path) ? { path: args.path, namespace: DEPENDENCY_JSON } : undefined));
      b.onLoad({ filter: /.*/, namespace: DEPENDENCY_JSON }, (args) => ({
        contents: `import { createRequire } from "node:module";\nexport default createRequire(import.meta.url)(${JSON.stringify(args.path)});\n`,
        loader: "js",
      }));
    },
  };
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

function toBundleError(error: unknown, options: BundleTaskOptions): TaskBundleError {
  const messages: Message[] = (error as BuildFailure)?.errors ?? [];
  const first = messages[0];
  if (!first) return new TaskBundleError(`taskhost bundler: ${relative(options)}: ${String(error)}`, null);
  const loc = first.location;
  const file = loc?.file ? displayPath(loc.file, options) : relative(options);
  const where = loc ? `${file}:${loc.line}:${loc.column + 1}` : file;
  const more = messages.length > 1 ? ` (and ${messages.length - 1} more error${messages.length > 2 ? "s" : ""})` : "";
  return new TaskBundleError(
    `${where}: ${first.text}${more}`,
    loc ? { file, line: loc.line, column: loc.column + 1 } : null,
  );
}

function relative(options: BundleTaskOptions): string {
  return path.relative(options.projectRoot, options.file);
}

function displayPath(file: string, options: BundleTaskOptions): string {
  const abs = path.isAbsolute(file) ? file : path.resolve(options.projectRoot, file);
  return path.relative(options.projectRoot, abs);
}

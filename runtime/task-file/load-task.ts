import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseTaskFile } from "./parse-task-file.ts";
import { bundleTask } from "./bundle-task.ts";
import type { BundleInspector, InspectResult } from "./bundle-inspection.ts";
import { isCode } from "../errors.ts";
import { freshManifest, hashFile, manifestKey, writeManifest } from "./bundle-manifest.ts";
import { importErrorMessage } from "./import-error.ts";
import type { TaskBundle } from "./bundle-task.ts";
import { validateSpec } from "../schedule/validate-spec.ts";
import { describeSchedule } from "../schedule/describe-schedule.ts";
import { nextRun } from "../schedule/next-run.ts";
import { fingerprintZone } from "../schedule/resolve-zone.ts";
import type { LoadedTask, TaskSchedule } from "./loaded-task.ts";
import type { DependencyInstaller } from "../deps/install-dependencies.ts";
import { DependencyInstallError } from "../deps/dependency-install-error.ts";
import { dependencyBundleDir, dependencyExternals } from "../deps/dependency-externals.ts";

export { ERR_TASK_LOAD } from "../errors.ts";
import { ERR_TASK_LOAD } from "../errors.ts";
import { noScheduleWarning } from "./no-schedule-warning.ts";
import type { IsolationLevel, ResolvedTaskMeta } from "./task-meta.ts";

export interface LoadTaskOptions {
  id: string;
  /** Absolute path of the task file. */
  file: string;
  projectRoot: string;
  /** Where bundles are cached. */
  bundleDir: string;
  /** The compiled worker entry (part of the cache key: a new entry reads schedules anew). */
  entryFile: string;
  /** Imports the bundle in a worker to read its schedules. */
  inspector: BundleInspector;
  /** The compiled `taskhost` module bundles import. */
  apiModule: { url: string; hash: string };
  /** Where bundle manifests are kept (the warm-start cache). */
  manifestDir: string;
  /** The scheduler's zone, for tasks without their own `timezone`. */
  defaultZone: string;
  /** Installs a task's `dependencies` (one installer per host, shared by all loads). */
  dependencies: DependencyInstaller;
  /** Called when the task's dependencies must be installed first (status shows `installing`). */
  onInstalling?: (isolation: IsolationLevel | null) => void;
}

/** A task that could not be loaded: listed with this message, never run. */
export class TaskLoadError extends Error {
  readonly code = ERR_TASK_LOAD;
  /** `title` and `isolation`: the frontmatter's, when it was read before the error (null: not given or not read). */
  constructor(
    message: string,
    readonly title: string | null,
    readonly isolation: IsolationLevel | null = null,
    /** The install that failed, when that is why the task did not load (the catalog may try it again). */
    readonly installFailure: DependencyInstallError | null = null,
  ) {
    super(message);
    this.name = "TaskLoadError";
  }
}

/**
 * Reads, validates, bundles and inspects one task file. Everything that can go
 * wrong in a user's file surfaces here as one TaskLoadError whose message names
 * the file and line; the caller decides whether an older version keeps running.
 */
export async function loadTask(options: LoadTaskOptions): Promise<LoadedTask> {
  const relFile = path.relative(options.projectRoot, options.file);
  let meta: ResolvedTaskMeta | null = null;
  try {
    const source = await readFile(options.file, "utf8");
    const parsed = parseTaskFile(source, relFile, { zone: options.defaultZone, nodeVersion: process.version });
    meta = parsed.meta;
    // Dependencies stay external and the bundle lives in their install folder, so Node
    // resolves them from there at run time: native addons and dynamic requires work as is.
    let outDir = options.bundleDir;
    let external: string[] = [];
    if (parsed.meta.dependencies.length > 0) {
      const { dependencies } = options;
      const deps = parsed.meta.dependencies;
      const installed =
        (await dependencies.lookup(deps, { allowScripts: parsed.meta.allowScripts })) ??
        (options.onInstalling?.(parsed.meta.isolation), await dependencies.ensure(deps, { allowScripts: parsed.meta.allowScripts }));
      outDir = dependencyBundleDir(installed.dir);
      external = dependencyExternals(deps);
    }
    const { bundle, inspected } = await buildOrReuse(options, parsed.code, outDir, external);
    const zone = parsed.meta.timezone ?? options.defaultZone;
    const window = {
      ...(parsed.meta.startDate != null ? { start: parsed.meta.startDate } : {}),
      ...(parsed.meta.endDate != null ? { end: parsed.meta.endDate } : {}),
    };
    const perMethod = new Map<string, number>();
    const schedules: TaskSchedule[] = inspected.schedules.map(({ method, spec }) => {
      const valid = validateSpec(spec);
      const n = (perMethod.get(method) ?? 0) + 1;
      perMethod.set(method, n);
      const id = `${options.id}#${method}${n > 1 ? `:${n}` : ""}`;
      return {
        id,
        method,
        spec: valid,
        text: describeSchedule(valid),
        zone,
        window,
        fingerprint: JSON.stringify({ spec: valid, zone: fingerprintZone(zone), window }),
      };
    });
    const warnings = parsed.warnings.map((w) => (typeof w === "string" ? w : w.message));
    if (schedules.length === 0) {
      warnings.push(noScheduleWarning(relFile, source));
    }
    // A one-off whose time has passed (or lies outside start_date/end_date) shows no next run: say why,
    // and how to run it (with its method when the task has several: pick-method.ts).
    const severalMethods = new Set(schedules.map((s) => s.method)).size > 1;
    for (const s of schedules) {
      if (s.spec.kind !== "once" || nextRun(s.spec, Date.now(), s.zone, s.window) !== null) continue;
      const at = s.spec.at;
      const line = source.split("\n").findIndex((l) => l.includes("@once(") && l.includes(at)) + 1 || 1;
      warnings.push(`${relFile}:${line}: ${s.text} is in the past (or outside start_date/end_date): no occurrence of it is left to come (one missed while the host was down is caught up as catch_up says); \`taskhost run ${options.id}${severalMethods ? `#${s.method}` : ""}\` runs it now`);
    }
    return {
      id: options.id,
      file: options.file,
      relFile,
      meta: parsed.meta,
      bundle,
      schedules,
      methods: inspected.methods,
      warnings,
    };
  } catch (error) {
    // The host is stopping: that says nothing about the file.
    if (isCode(error, "ERR_INSPECTOR_STOPPED")) throw error;
    let message = error instanceof Error ? error.message : String(error);
    if (isCode(error, "ERR_TASK_IMPORT")) message = importErrorMessage(relFile, message);
    // Errors from the parser and bundler already start with the file name.
    const named = message.startsWith(relFile) ? message : `${relFile}: ${message}`;
    throw new TaskLoadError(named, meta?.title ?? null, meta?.isolation ?? null, error instanceof DependencyInstallError ? error : null);
  }
}

/** The bundle and its schedules from the manifest cache when nothing changed, else built and inspected afresh. */
async function buildOrReuse(
  options: LoadTaskOptions,
  code: string,
  outDir: string,
  external: string[],
): Promise<{ bundle: TaskBundle; inspected: InspectResult }> {
  const started = performance.now();
  const key = manifestKey({ code, api: options.apiModule.hash, outDir, external, entry: options.entryFile });
  const cached = await freshManifest(options.manifestDir, options.file, key);
  if (cached) {
    const bundle = { ...cached.bundle, inputs: [options.file, ...Object.keys(cached.inputs)], bundleMs: performance.now() - started, cached: true };
    return { bundle, inspected: cached.inspected };
  }
  const bundle = await bundleTask({
    file: options.file,
    code,
    projectRoot: options.projectRoot,
    outDir,
    external,
    apiModuleUrl: options.apiModule.url,
  });
  const inspected = await options.inspector.inspect(bundle.path);
  const inputs: Record<string, string> = {};
  for (const input of bundle.inputs.slice(1)) inputs[input] = (await hashFile(input)) ?? "";
  await writeManifest(options.manifestDir, options.file, { version: 1, key, inputs, bundle: { path: bundle.path, hash: bundle.hash }, inspected });
  return { bundle, inspected };
}

/**
 * One fresh V8 context for a run (`isolation: context`) or a task
 * (`isolation: task`): its own globals and built-in prototypes, Node's globals
 * (process, Buffer, fetch, URL, ...) handed in, its own timers, and its own
 * CommonJS loader, so a task's dependencies are evaluated inside it and their
 * module state dies with it.
 *
 * The known costs of a context, and what is done about each:
 * - Values made by Node's built-ins (an `fs` error, a Buffer, a fetch
 *   Response's JSON) belong to the worker's main realm, where `instanceof` of
 *   the context's own constructors would be false (jestjs/jest#2549). Every
 *   built-in constructor of the context answers `instanceof` for its main-realm
 *   twin too, so `err instanceof Error` holds for an fs error.
 * - Native addons (`.node`), ES-module-only packages and `import()` load
 *   through Node's loader into the worker's main realm: they work, but their
 *   module state lives as long as the worker, not the run.
 * - process.chdir() is not available in any worker thread (nor under `worker`).
 * - Timers are the context's own and die with it; what is still pending in
 *   Node itself (a socket, a file read) may resume the ended run's code, which
 *   can then schedule nothing. An endless loop is stopped by terminating the
 *   worker (no vm timeout: promises and timers escape those).
 */
import Module, { createRequire, isBuiltin } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import vm from "node:vm";
import { RunTimers } from "./run-timers.ts";
import { restoreEnv } from "./env-baseline.ts";
import { compiledScript, mapStack, type ModuleWrapper } from "./script-cache.ts";

interface CjsModule {
  exports: unknown;
  id: string;
  filename: string;
  loaded: boolean;
  children: unknown[];
  paths: string[];
  require?: unknown;
}

/**
 * Node's globals a fresh context lacks (fetch, Buffer, URL, structuredClone,
 * ...), as getters on one object per worker that every run's global inherits
 * from: nothing is copied per run, and fetch's undici loads on first use only.
 * A run that assigns one of them shadows it on its own global.
 */
const NODE_GLOBALS: object = (() => {
  const own = new Set(vm.runInNewContext("Object.getOwnPropertyNames(globalThis)") as string[]);
  // gc: a worker's own global may have one (collect-when-quiet.ts); a context has its own when the host exposes it.
  const skip = new Set(["gc", "global", "globalThis", "console", "setTimeout", "setInterval", "setImmediate", "clearTimeout", "clearInterval", "clearImmediate"]);
  const proto: Record<string, unknown> = {};
  for (const name of Object.getOwnPropertyNames(globalThis)) {
    if (own.has(name) || skip.has(name)) continue;
    Object.defineProperty(proto, name, { get: () => (globalThis as Record<string, unknown>)[name], enumerable: false, configurable: false });
  }
  return Object.freeze(proto);
})();

/** Constructors whose instances Node's built-ins hand to task code (errors, buffers, parsed JSON, promises). */
const SHARED_CONSTRUCTORS = [
  "Object", "Array", "Promise", "Date", "RegExp", "Map", "Set", "ArrayBuffer", "Uint8Array",
  "Error", "TypeError", "RangeError", "SyntaxError", "ReferenceError", "EvalError", "URIError", "AggregateError",
] as const;

const hostConstructors: Record<string, unknown> = Object.fromEntries(
  SHARED_CONSTRUCTORS.map((name) => [name, (globalThis as Record<string, unknown>)[name]]),
);

/** Run inside each new context: instanceof across realms, and what the loader needs from the context. */
const SETUP = new vm.Script(
  `(function (host, formatStack) {
    "use strict";
    // Stacks read in the task's code (a helper logging an error) name tasks/x.ts:line, as under \`worker\`.
    Error.prepareStackTrace = formatStack;
    const ordinary = Function.prototype[Symbol.hasInstance];
    for (const name of Object.keys(host)) {
      const own = globalThis[name];
      const twin = host[name];
      if (typeof own !== "function" || typeof twin !== "function" || own === twin) continue;
      Object.defineProperty(own, Symbol.hasInstance, {
        configurable: true,
        writable: true,
        value: function (value) { return ordinary.call(this, value) || (this === own && ordinary.call(twin, value)); },
      });
    }
    globalThis.global = globalThis;
    return { promiseProto: Promise.prototype, newObject: () => ({}), parseJson: (text) => JSON.parse(text) };
  })`,
  { filename: "taskhost:realm-setup" },
);

/**
 * V8's own stack format, with the frames of compiled task bundles mapped to
 * their sources: Node maps the modules it loads, not `vm.Script`s.
 */
function formatStack(error: unknown, frames: NodeJS.CallSite[]): string {
  let head: string;
  try {
    head = Error.prototype.toString.call(error);
  } catch {
    head = "Error";
  }
  return mapStack(frames.length ? `${head}\n${frames.map((frame) => `    at ${String(frame)}`).join("\n")}` : head);
}

const CURRENT_RUN_KEY = Symbol.for("taskhost.currentRun");
/** `.js` files found to be ES modules: required through Node's loader from then on, without another compile attempt. */
const NODE_LOADED = new Set<string>();

export class RunRealm {
  readonly timers = new RunTimers();
  private readonly global: vm.Context;
  private readonly modules = new Map<string, CjsModule>();
  private readonly hostRequires = new Map<string, NodeJS.Require>();
  private readonly helpers: { promiseProto: object; newObject: () => object; parseJson: (text: string) => unknown };
  private readonly processListeners: Map<string | symbol, Function[]>;
  private moduleBuiltin: typeof Module | undefined;

  /** `apiScript`: the `taskhost` module as a CommonJS script, what `require("taskhost")` evaluates. */
  constructor(name: string, private readonly apiScript: string) {
    const sandbox = Object.create(NODE_GLOBALS) as Record<string | symbol, unknown>;
    const t = this.timers;
    Object.assign(sandbox, {
      // Node's console writes to the worker's stdout/stderr, which the host reads as the run's output.
      console,
      setTimeout: t.setTimeout,
      setInterval: t.setInterval,
      setImmediate: t.setImmediate,
      clearTimeout: t.clearTimeout,
      clearInterval: t.clearInterval,
      clearImmediate: t.clearImmediate,
    });
    this.global = vm.createContext(sandbox, { name });
    const setup = SETUP.runInContext(this.global) as (host: Record<string, unknown>, format: typeof formatStack) => RunRealm["helpers"];
    this.helpers = setup(hostConstructors, formatStack);
    this.processListeners = listenerSnapshot();
  }

  /**
   * What `currentRun()` answers, for the helpers (evaluated in this context)
   * and for the shared `taskhost` module (in the worker's realm; the worker
   * serves one run at a time, so one value per thread is exact).
   */
  setCurrentRun(run: unknown): void {
    (this.global as Record<symbol, unknown>)[CURRENT_RUN_KEY] = run;
    (globalThis as Record<symbol, unknown>)[CURRENT_RUN_KEY] = run;
  }

  /** Whether a promise was made by this context's code (an unhandled rejection of this run, or of an older one). */
  owns(promise: unknown): boolean {
    return typeof promise === "object" && promise !== null && Object.getPrototypeOf(promise) === this.helpers.promiseProto;
  }

  /** Evaluates a task's CommonJS bundle in this context and returns its exports. */
  main(script: string, importMetaUrl: string): unknown {
    return this.evaluate(script, true, importMetaUrl).exports;
  }

  /** Drops the run: pending timers cleared, listeners it added to `process` removed, `process.env` as it was. Returns the timers that were pending. */
  dispose(): number {
    const pending = this.timers.close();
    restoreEnv();
    for (const event of process.eventNames()) {
      const before = this.processListeners.get(event) ?? [];
      for (const listener of process.listeners(event as never) as Function[]) {
        if (!before.includes(listener)) process.removeListener(event as never, listener as never);
      }
    }
    this.setCurrentRun(undefined);
    this.modules.clear();
    return pending;
  }

  private evaluate(file: string, isBundle: boolean, importMetaUrl = pathToFileURL(file).href): CjsModule {
    const module: CjsModule = { exports: this.helpers.newObject(), id: file, filename: file, loaded: false, children: [], paths: [] };
    this.modules.set(file, module);
    const require = this.requireFrom(file);
    module.require = require;
    const wrapper = compiledScript(file, isBundle).runInContext(this.global) as ModuleWrapper;
    wrapper.call(module.exports, module.exports, require, module, file, path.dirname(file), importMetaUrl);
    module.loaded = true;
    return module;
  }

  /**
   * `node:module` with a createRequire() that loads into this context: a
   * package a task (or a helper: node-notifier, sql.js) loads that way gets a
   * fresh module state in each run, as under `worker`, not one shared by every
   * run of the pool worker.
   */
  private realmModule(host: typeof Module): typeof Module {
    const createRequire = (from: string | URL) => this.requireFrom(from instanceof URL || from.startsWith("file:") ? fileURLToPath(from) : from);
    return new Proxy(host, { get: (target, key, receiver) => (key === "createRequire" ? createRequire : Reflect.get(target, key, receiver)) });
  }

  private requireFrom(file: string): NodeJS.Require {
    let host = this.hostRequires.get(file);
    if (!host) {
      host = createRequire(file);
      this.hostRequires.set(file, host);
    }
    const hostRequire = host;
    const require = ((specifier: string) => this.load(specifier, hostRequire)) as NodeJS.Require;
    require.resolve = hostRequire.resolve;
    require.cache = Object.create(null) as NodeJS.Require["cache"];
    require.main = undefined;
    return require;
  }

  private load(specifier: string, hostRequire: NodeJS.Require): unknown {
    const bare = specifier.startsWith("node:") ? specifier.slice(5) : specifier;
    if (bare === "timers") return this.timers.module;
    if (bare === "module") return (this.moduleBuiltin ??= this.realmModule(hostRequire("node:module") as typeof Module));
    if (bare === "timers/promises") return this.timers.promises;
    if (specifier === "taskhost") return sharedApi(this.apiScript);
    if (isBuiltin(specifier)) return hostRequire(specifier);
    const file = hostRequire.resolve(specifier);
    const known = this.modules.get(file);
    if (known) return known.exports;
    if (file.endsWith(".json")) {
      const module: CjsModule = { exports: this.helpers.parseJson(readFileSync(file, "utf8")), id: file, filename: file, loaded: true, children: [], paths: [] };
      this.modules.set(file, module);
      return module.exports;
    }
    // Native addons and ES modules cannot be evaluated in a context: Node loads them in the worker's realm.
    if (file.endsWith(".node") || file.endsWith(".mjs") || NODE_LOADED.has(file)) return hostRequire(file);
    try {
      return this.evaluate(file, false).exports;
    } catch (error) {
      if (error instanceof SyntaxError && /\b(import|export)\b/.test(error.message) && !this.modules.get(file)?.loaded) {
        this.modules.delete(file);
        NODE_LOADED.add(file);
        return hostRequire(file);
      }
      throw error;
    }
  }
}

let api: { file: string; exports: unknown } | null = null;

/**
 * The `taskhost` module, evaluated once per worker in its own realm and
 * frozen: decorators and schedule builders hold no state of a run, and
 * evaluating croner's classes for every run would cost more than the run.
 */
function sharedApi(file: string): unknown {
  if (api?.file !== file) {
    const exports = createRequire(file)(file) as Record<string, unknown>;
    for (const value of Object.values(exports)) {
      if (typeof value === "function" && value.prototype) Object.freeze(value.prototype);
      if (typeof value === "function" || (typeof value === "object" && value !== null)) Object.freeze(value);
    }
    api = { file, exports: Object.freeze(exports) };
  }
  return api.exports;
}

function listenerSnapshot(): Map<string | symbol, Function[]> {
  return new Map(process.eventNames().map((event) => [event, [...(process.listeners(event as never) as Function[])]]));
}

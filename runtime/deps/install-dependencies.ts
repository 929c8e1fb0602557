/**
 * Installs a task's npm dependencies (contract §5) into a content-addressed
 * folder `<dataDir>/deps/<key>/` (key: see dependency-key.ts), with the npm CLI.
 *
 * Layout of a finished folder:
 *   package.json          { private, dependencies: the normalised set }
 *   package-lock.json     what npm resolved: the exact versions, kept for reproducibility
 *   node_modules/
 *   .taskhost-complete    written last, before the folder gets its final name
 *   bundles/              (the bundler's) task bundles that import these packages
 *
 * Crash safety: npm runs in `<key>.tmp-<pid>-<n>/`, which is renamed to `<key>/`
 * only once npm succeeded and the marker is written; a folder without the
 * marker is never used. Leftover `.tmp-`/`.old-` folders of dead processes are
 * removed before this installer's first install.
 *
 * A finished folder is reused forever (across host restarts) without running npm.
 * Identical `ensure()` calls in flight share one npm run; at most
 * `maxConcurrentInstalls` (2) npm processes run at once; each has
 * `installTimeoutSec`, then its process group is killed.
 *
 * npm is called with `--prefix <folder>`, so it never looks at (or touches) the
 * project's own package.json or node_modules. It reads the user's ~/.npmrc and
 * the global npmrc (auth tokens, proxies, cache), not a project-level .npmrc.
 */
import { access, mkdir, readdir, readFile, rename, rm, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { dependencyKey, type DependencyKey, type NormalisedDependency } from "./dependency-key.ts";
import { DependencyInstallError, type DependencyInstallFailure } from "./dependency-install-error.ts";
import {
  resolveDependencyOptions,
  type DependencyOptions,
  type ResolvedDependencyOptions,
} from "./resolve-dependency-options.ts";
import { npmErrorLines, startNpm, type NpmRun, type NpmRunResult } from "./run-npm.ts";
import { isProcessAlive } from "../util/is-process-alive.ts";
import { taskEnv } from "../util/task-env.ts";

export { DependencyInstallError, ERR_DEPENDENCY_INSTALL } from "./dependency-install-error.ts";

/** Written last into a finished install folder. */
export const COMPLETE_MARKER = ".taskhost-complete";

export interface EnsureDependenciesOptions {
  /** The task's `allow_scripts`: let npm run the packages' lifecycle scripts. */
  allowScripts: boolean;
}

export interface InstalledDependencies {
  key: string;
  /** Absolute folder that contains `node_modules/`. */
  dir: string;
  /** How long this `ensure()` took: the npm run, or only the check of a finished folder. */
  installMs: number;
  /** true: the folder was already complete and npm did not run for this call. */
  fromCache: boolean;
  dependencies: readonly NormalisedDependency[];
}

export type DependencyInstallEvent =
  | { type: "install.start"; key: string; specs: readonly string[]; pid: number }
  | { type: "install.done"; key: string; specs: readonly string[]; installMs: number }
  | { type: "install.failed"; key: string; specs: readonly string[]; error: DependencyInstallError };

export interface DependencyInstallerHooks {
  /** For logs and the `installing` status; must not throw. */
  onEvent?: (event: DependencyInstallEvent) => void;
}

/** What the marker file holds (informational; its existence is what counts). */
interface CompleteMarker {
  key: string;
  dependencies: Record<string, string>;
  allowScripts: boolean;
  registry: string | null;
  installedAt: string;
  installMs: number;
}

/** Temp and set-aside folders of this process's installs: never swept while in use. */
const ownWorkDirs = new Set<string>();
const WORK_DIR = /^[0-9a-f]{16}\.(tmp|old)-(\d+)-\d+$/;
let workDirSeq = 0;

export class DependencyInstaller {
  readonly options: ResolvedDependencyOptions;
  private readonly inFlight = new Map<string, Promise<InstalledDependencies>>();
  private readonly running = new Set<NpmRun>();
  private readonly waiting: Array<{ go: () => void; stop: (error: Error) => void }> = [];
  private active = 0;
  private sweep: Promise<void> | null = null;
  private closed = false;

  constructor(
    options: DependencyOptions | ResolvedDependencyOptions,
    private readonly hooks: DependencyInstallerHooks = {},
  ) {
    this.options = resolveDependencyOptions(options);
  }

  /** The key and normalised set for these specs; throws DependencyInstallError for a bad spec. */
  keyFor(specs: readonly string[], options: EnsureDependenciesOptions): DependencyKey {
    return dependencyKey({ specs, allowScripts: options.allowScripts, registry: this.options.registry });
  }

  /** `<dataDir>/deps/<key>`. */
  dirFor(key: string): string {
    return path.join(this.options.depsDir, key);
  }

  /** The finished install for these specs, or null; never runs npm. */
  async lookup(specs: readonly string[], options: EnsureDependenciesOptions): Promise<InstalledDependencies | null> {
    const started = performance.now();
    const k = this.keyFor(specs, options);
    const dir = this.dirFor(k.key);
    return (await isComplete(dir)) ? cached(k, dir, started) : null;
  }

  /**
   * The install folder for this set of specs: reused when finished, otherwise
   * installed now (or joined, when the same set is being installed). Rejects
   * with a DependencyInstallError.
   */
  ensure(specs: readonly string[], options: EnsureDependenciesOptions): Promise<InstalledDependencies> {
    let k: DependencyKey;
    try {
      if (this.closed) throw this.closedError(specs);
      k = this.keyFor(specs, options);
      if (k.dependencies.length === 0) throw new TypeError("DependencyInstaller.ensure: no dependencies to install");
    } catch (error) {
      return Promise.reject(error);
    }
    const shared = this.inFlight.get(k.key);
    if (shared) return shared;
    const written = [...new Set(specs)];
    const promise = this.ensureKey(k, written, options).finally(() => this.inFlight.delete(k.key));
    this.inFlight.set(k.key, promise);
    return promise;
  }

  /** Stops running installs (they reject with reason "closed") and refuses new ones. */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.stop(this.closedError([]));
    for (const run of this.running) run.kill();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private async ensureKey(k: DependencyKey, specs: string[], options: EnsureDependenciesOptions): Promise<InstalledDependencies> {
    const started = performance.now();
    const dir = this.dirFor(k.key);
    if (await isComplete(dir)) return cached(k, dir, started);
    await this.acquireSlot(specs);
    try {
      // Another installer (or host) may have finished it while this one queued.
      if (await isComplete(dir)) return cached(k, dir, started);
      await (this.sweep ??= this.removeLeftovers());
      return await this.install(k, specs, options, started);
    } finally {
      this.releaseSlot();
    }
  }

  private async install(
    k: DependencyKey,
    specs: string[],
    options: EnsureDependenciesOptions,
    started: number,
  ): Promise<InstalledDependencies> {
    const dir = this.dirFor(k.key);
    const work = path.join(this.options.depsDir, `${k.key}.tmp-${process.pid}-${++workDirSeq}`);
    ownWorkDirs.add(work);
    const fail = (message: string, reason: DependencyInstallFailure, result?: NpmRunResult): DependencyInstallError => {
      const lines = result ? npmErrorLines(`${result.stdout}\n${result.stderr}`) : [];
      const text = `could not install ${specs.join(", ")}: ${message}${lines.length ? `\n${lines.join("\n")}` : ""}`;
      return new DependencyInstallError(text, reason, specs, lines, result?.code ?? null);
    };
    try {
      try {
        await rm(work, { recursive: true, force: true });
        await mkdir(work, { recursive: true });
        await writeFile(path.join(work, "package.json"), `${JSON.stringify(packageJson(k), null, 2)}\n`);
      } catch (error) {
        throw fail(`cannot prepare ${work}: ${(error as Error).message}`, "io");
      }
      const result = await this.runNpm(k, specs, options, work).catch((error: Error) => {
        throw fail(`cannot start ${this.options.npmCommand} (${error.message})`, "spawn-failed");
      });
      if (result.killed) throw fail("the install was stopped (the host is stopping, or a change to dependencies.* replaced its installer)", "closed", result);
      if (result.timedOut) throw fail(`npm took longer than dependencies.install_timeout (${this.options.installTimeoutSec} s) and was stopped`, "timeout", result);
      if (result.code !== 0) {
        const how = result.code === null ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
        throw fail(`npm ${how}`, "npm-failed", result);
      }
      const missing = await firstMissingPackage(work, k.dependencies);
      if (missing) throw fail(`npm succeeded but node_modules/${missing} is missing`, "npm-failed", result);
      const installMs = performance.now() - started;
      try {
        await writeFile(path.join(work, COMPLETE_MARKER), `${JSON.stringify(this.marker(k, options, installMs), null, 2)}\n`);
        await this.publish(work, dir);
      } catch (error) {
        throw fail(`cannot finish ${dir}: ${(error as Error).message}`, "io");
      }
      this.emit({ type: "install.done", key: k.key, specs, installMs });
      return { key: k.key, dir, installMs, fromCache: false, dependencies: k.dependencies };
    } catch (error) {
      const failure = error instanceof DependencyInstallError ? error : fail(String(error), "io");
      this.emit({ type: "install.failed", key: k.key, specs, error: failure });
      throw failure;
    } finally {
      await rm(work, { recursive: true, force: true }).catch(() => {});
      ownWorkDirs.delete(work);
    }
  }

  private runNpm(k: DependencyKey, specs: string[], options: EnsureDependenciesOptions, work: string): Promise<NpmRunResult> {
    const args = [
      "install",
      "--prefix", work,
      `--ignore-scripts=${!options.allowScripts}`,
      "--audit=false",
      "--fund=false",
      "--update-notifier=false",
      "--progress=false",
      "--color=false",
      "--package-lock=true",
      // Settings from an npmrc or the environment that would make "success" a lie.
      "--global=false",
      "--dry-run=false",
      "--package-lock-only=false",
      "--workspaces=false",
      // An unreachable registry (refused, no DNS) fails in seconds with npm's own error,
      // not after npm's default backoff (10 s, then 60 s) or the whole install_timeout;
      // the http log lines name each failed attempt, for a timeout's message too.
      "--fetch-retries=2",
      "--fetch-retry-mintimeout=1000",
      "--fetch-retry-maxtimeout=4000",
      "--loglevel=http",
      ...(this.options.registry ? ["--registry", this.options.registry] : []),
    ];
    const run = startNpm({
      command: this.options.npmCommand,
      args,
      cwd: work,
      // Install scripts are dependency code: no more of the host's secrets than a task gets.
      env: taskEnv(this.options.env ?? process.env),
      timeoutMs: this.options.installTimeoutSec * 1000,
      onSpawn: (pid) => this.emit({ type: "install.start", key: k.key, specs, pid }),
    });
    this.running.add(run);
    return run.done.finally(() => this.running.delete(run));
  }

  /** Gives `work` its final name; a complete folder already there (another host's) wins. */
  private async publish(work: string, dir: string): Promise<void> {
    try {
      await rename(work, dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
    }
    if (await isComplete(dir)) return;
    // A folder without the marker is not an install (a copy, an older layout): set it aside.
    const old = path.join(this.options.depsDir, `${path.basename(dir)}.old-${process.pid}-${++workDirSeq}`);
    ownWorkDirs.add(old);
    try {
      await rename(dir, old);
      await rename(work, dir);
      await rm(old, { recursive: true, force: true });
    } finally {
      ownWorkDirs.delete(old);
    }
  }

  /** Removes `.tmp-`/`.old-` folders left by crashed installs (dead pid, or this pid but not in use). */
  private async removeLeftovers(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.options.depsDir);
    } catch {
      return;
    }
    await Promise.all(
      names.map(async (name) => {
        const match = WORK_DIR.exec(name);
        const full = path.join(this.options.depsDir, name);
        if (!match || ownWorkDirs.has(full)) return;
        const pid = Number(match[2]);
        if (pid !== process.pid && isProcessAlive(pid)) return;
        await rm(full, { recursive: true, force: true }).catch(() => {});
      }),
    );
  }

  private acquireSlot(specs: string[]): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError(specs));
    if (this.active < this.options.maxConcurrentInstalls) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({
        go: () => {
          this.active++;
          resolve();
        },
        stop: reject,
      });
    });
  }

  private releaseSlot(): void {
    this.active--;
    this.waiting.shift()?.go();
  }

  private marker(k: DependencyKey, options: EnsureDependenciesOptions, installMs: number): CompleteMarker {
    return {
      key: k.key,
      dependencies: Object.fromEntries(k.dependencies.map((d) => [d.name, d.spec])),
      allowScripts: options.allowScripts,
      registry: this.options.registry,
      installedAt: new Date().toISOString(),
      installMs: Math.round(installMs),
    };
  }

  private closedError(specs: readonly string[]): DependencyInstallError {
    return new DependencyInstallError("the dependency installer is closed (the host is stopping, or a change to dependencies.* replaced it)", "closed", specs);
  }

  private emit(event: DependencyInstallEvent): void {
    try {
      this.hooks.onEvent?.(event);
    } catch {
      // A logging hook must not break an install.
    }
  }
}

function packageJson(k: DependencyKey): Record<string, unknown> {
  return {
    name: `taskhost-deps-${k.key}`,
    private: true,
    description: "Dependencies of taskhost tasks, installed by taskhost. Do not edit: the folder is shared by every task with this set.",
    dependencies: Object.fromEntries(k.dependencies.map((d) => [d.name, d.spec])),
  };
}

function cached(k: DependencyKey, dir: string, started: number): InstalledDependencies {
  return { key: k.key, dir, installMs: performance.now() - started, fromCache: true, dependencies: k.dependencies };
}

/** Whether the install is finished; a finished one is marked used now (the build cache sweep keeps what was used lately). */
async function isComplete(dir: string): Promise<boolean> {
  const marker = path.join(dir, COMPLETE_MARKER);
  try {
    const now = new Date();
    await utimes(marker, now, now);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
  }
  // Not ours to touch (a read-only data folder): only whether it is there.
  try {
    await access(marker);
    return true;
  } catch {
    return false;
  }
}

async function firstMissingPackage(dir: string, dependencies: readonly NormalisedDependency[]): Promise<string | null> {
  for (const dep of dependencies) {
    try {
      await readFile(path.join(dir, "node_modules", dep.name, "package.json"));
    } catch {
      return dep.name;
    }
  }
  return null;
}

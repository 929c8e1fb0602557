import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  COMPLETE_MARKER,
  DependencyInstallError,
  DependencyInstaller,
  ERR_DEPENDENCY_INSTALL,
  type DependencyInstallEvent,
  type InstalledDependencies,
} from "../runtime/deps/install-dependencies.ts";
import type { DependencyOptions } from "../runtime/deps/resolve-dependency-options.ts";
import { isProcessAlive } from "../runtime/util/is-process-alive.ts";
import { startLocalRegistry, type LocalRegistry } from "./support/local-registry.ts";

let registry: LocalRegistry;
let tmp: string;
let seq = 0;

beforeAll(async () => {
  registry = await startLocalRegistry({ hang: ["th-fixture-hang"] });
  tmp = await mkdtemp(path.join(os.tmpdir(), "th-deps-"));
  await writeFile(path.join(tmp, "npmrc"), ""); // the user's ~/.npmrc stays out of the tests
});

afterAll(async () => {
  await registry?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** An installer on a fresh data dir (or the given one); the npm cache is shared by the file's tests. */
function installer(options: Partial<DependencyOptions> = {}) {
  const events: DependencyInstallEvent[] = [];
  const dataDir = options.dataDir ?? path.join(tmp, `data-${++seq}`);
  const env = { ...process.env, npm_config_cache: path.join(tmp, "npm-cache"), npm_config_userconfig: path.join(tmp, "npmrc") };
  const it = new DependencyInstaller(
    { registry: registry.url, installTimeoutSec: 60, env, ...options, dataDir },
    { onEvent: (e) => events.push(e) },
  );
  return { it, events, dataDir, depsDir: path.join(dataDir, "deps"), starts: () => events.filter((e) => e.type === "install.start").length };
}

const versionIn = async (dir: string, name: string): Promise<string> =>
  (JSON.parse(await readFile(path.join(dir, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;

async function rejection(promise: Promise<unknown>): Promise<DependencyInstallError> {
  const error = await promise.then(
    () => {
      throw new Error("expected the install to fail");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DependencyInstallError);
  expect((error as DependencyInstallError).code).toBe(ERR_DEPENDENCY_INSTALL);
  return error as DependencyInstallError;
}

describe("DependencyInstaller", () => {
  it("installs from the registry, then reuses the folder without npm, also after a restart", async () => {
    const { it: deps, starts, dataDir } = installer();
    const first = await deps.ensure(["th-fixture-greet@^1"], { allowScripts: false });
    expect(first).toMatchObject({ fromCache: false, dir: path.join(dataDir, "deps", first.key) });
    expect(createRequire(path.join(first.dir, "package.json"))("th-fixture-greet").greet("you")).toBe("hello you from th-fixture-greet 1.0.0");
    expect(existsSync(path.join(first.dir, COMPLETE_MARKER))).toBe(true);
    expect(existsSync(path.join(first.dir, "package-lock.json"))).toBe(true);
    console.log(`cold install: ${first.installMs.toFixed(0)} ms`);

    const requestsBefore = registry.requests.length;
    const again = await deps.ensure(["th-fixture-greet@^1.0.0"], { allowScripts: false });
    // A host restart: a new installer on the same data dir.
    const restarted = installer({ dataDir });
    const afterRestart = await restarted.it.ensure(["th-fixture-greet@^1"], { allowScripts: false });
    for (const result of [again, afterRestart]) {
      expect(result).toMatchObject({ key: first.key, dir: first.dir, fromCache: true });
      expect(result.installMs).toBeLessThan(1000); // no npm: a read of the marker (npm itself takes seconds)
    }
    console.log(`cached: ${again.installMs.toFixed(2)} ms`);
    expect(starts()).toBe(1);
    expect(restarted.starts()).toBe(0);
    expect(registry.requests.length).toBe(requestsBefore);
    expect(await deps.lookup(["th-fixture-greet@^1"], { allowScripts: false })).toMatchObject({ dir: first.dir, fromCache: true });
    expect(await deps.lookup(["th-fixture-greet@^2"], { allowScripts: false })).toBeNull();
  });

  it("shares one npm run between identical installs in flight", async () => {
    const { it: deps, starts } = installer();
    const results = await Promise.all([
      deps.ensure(["th-fixture-greet@2.0.0", "@th-fixture/scoped@beta"], { allowScripts: false }),
      deps.ensure(["@th-fixture/scoped@beta", "th-fixture-greet@2.0.0"], { allowScripts: false }),
      deps.ensure(["th-fixture-greet@v2.0.0", "@th-fixture/scoped@beta", "th-fixture-greet@2.0.0"], { allowScripts: false }),
    ]);
    expect(starts()).toBe(1);
    expect(new Set(results.map((r) => r.dir)).size).toBe(1);
    expect(await versionIn(results[0]!.dir, "@th-fixture/scoped")).toBe("1.1.0-beta.1");
  });

  it("gives each set its own folder and versions, at most two npm processes at once", async () => {
    const { it: deps, events } = installer();
    let active = 0;
    let most = 0;
    const watched = events.push.bind(events);
    events.push = (...added: DependencyInstallEvent[]) => {
      for (const e of added) {
        active += e.type === "install.start" ? 1 : -1;
        most = Math.max(most, active);
      }
      return watched(...added);
    };
    const [one, two, scoped] = await Promise.all([
      deps.ensure(["th-fixture-greet@1.0.0"], { allowScripts: false }),
      deps.ensure(["th-fixture-greet@^2", "th-fixture-uses-greet"], { allowScripts: false }),
      deps.ensure(["@th-fixture/scoped"], { allowScripts: false }),
    ]);
    expect(new Set([one.key, two.key, scoped.key]).size).toBe(3);
    expect(events.filter((e) => e.type === "install.start")).toHaveLength(3);
    expect(most).toBe(2);
    expect(createRequire(path.join(one.dir, "package.json"))("th-fixture-greet").version).toBe("1.0.0");
    const inTwo = createRequire(path.join(two.dir, "package.json"));
    expect(inTwo("th-fixture-greet").version).toBe("2.0.0");
    // The package's own dependency gets its own (nested) version.
    expect(inTwo("th-fixture-uses-greet").greetVersion).toBe("1.0.0");
    expect(await versionIn(scoped.dir, "@th-fixture/scoped")).toBe("1.0.0");
  });

  it("fails an unknown package with npm's 404 and leaves nothing behind", async () => {
    const { it: deps, depsDir } = installer();
    const error = await rejection(deps.ensure(["th-fixture-nope@^1", "th-fixture-greet"], { allowScripts: false }));
    expect(error.reason).toBe("npm-failed");
    expect(error.message).toMatch(/^could not install th-fixture-nope@\^1, th-fixture-greet: npm exited with code 1\n/);
    expect(error.message).toContain(`npm error 404 Not Found - GET ${registry.url}th-fixture-nope - Not found`);
    expect(error.message).not.toMatch(/complete log of this run/);
    expect(error.npmErrors.length).toBeGreaterThan(0);
    expect(await readdir(depsDir)).toEqual([]);
  });

  it("refuses a bad spec without running npm", async () => {
    const { it: deps, starts } = installer();
    const error = await rejection(deps.ensure(["th-fixture-greet", "--registry=http://evil.example"], { allowScripts: false }));
    expect(error.reason).toBe("invalid-spec");
    expect(error.message).toMatch(/"--registry=http:\/\/evil.example" looks like a command-line flag/);
    expect(starts()).toBe(0);
  });

  it("says so when npm cannot be started", async () => {
    const { it: deps } = installer({ npmCommand: path.join(tmp, "no-such-npm") });
    const error = await rejection(deps.ensure(["th-fixture-greet"], { allowScripts: false }));
    expect(error.reason).toBe("spawn-failed");
    expect(error.message).toMatch(/cannot start .*no-such-npm \(spawn .*ENOENT\)/);
  });

  it("runs install scripts only with allowScripts", async () => {
    const { it: deps } = installer();
    const [off, on] = await Promise.all([
      deps.ensure(["th-fixture-scripted"], { allowScripts: false }),
      deps.ensure(["th-fixture-scripted"], { allowScripts: true }),
    ]);
    expect(off.key).not.toBe(on.key);
    expect(existsSync(path.join(off.dir, "node_modules", "th-fixture-scripted", "install-ran"))).toBe(false);
    expect(existsSync(path.join(on.dir, "node_modules", "th-fixture-scripted", "install-ran"))).toBe(true);
  });

  it("gives install scripts no TASKHOST_* secret of the host's environment (issue 10.9)", async () => {
    const env = { ...process.env, npm_config_cache: path.join(tmp, "npm-cache"), npm_config_userconfig: path.join(tmp, "npmrc"), TASKHOST_DASHBOARD_TOKEN: "install-secret", TASKHOST_PROJECT_ROOT: tmp };
    const { it: deps } = installer({ env });
    const on = await deps.ensure(["th-fixture-scripted"], { allowScripts: true });
    const seen = (await readFile(path.join(on.dir, "node_modules", "th-fixture-scripted", "install-ran"), "utf8")).split("\n");
    expect(seen).toContain("TASKHOST_PROJECT_ROOT");
    expect(seen).not.toContain("TASKHOST_DASHBOARD_TOKEN");
  });

  it("kills npm (its whole process group) at the install timeout", async () => {
    const { it: deps, events, depsDir } = installer({ installTimeoutSec: 1 });
    const started = Date.now();
    const error = await rejection(deps.ensure(["th-fixture-hang"], { allowScripts: false }));
    expect(error.reason).toBe("timeout");
    expect(error.message).toMatch(/^could not install th-fixture-hang: npm took longer than dependencies.install_timeout \(1 s\)/);
    expect(Date.now() - started).toBeLessThan(6_000);
    const start = events.find((e) => e.type === "install.start");
    expect(start?.type === "install.start" && isProcessAlive(start.pid)).toBe(false);
    expect(await readdir(depsDir)).toEqual([]);
  });

  it("close() stops a running install", async () => {
    const { it: deps, events } = installer();
    const pending = deps.ensure(["th-fixture-hang"], { allowScripts: false });
    while (!events.some((e) => e.type === "install.start")) await new Promise((r) => setTimeout(r, 20));
    await deps.close();
    expect((await rejection(pending)).reason).toBe("closed");
    expect((await rejection(deps.ensure(["th-fixture-greet"], { allowScripts: false }))).reason).toBe("closed");
  });

  it("ignores and removes what a crashed install left, and replaces a folder without the marker", async () => {
    const { it: deps, depsDir } = installer();
    const key = deps.keyFor(["th-fixture-greet@1"], { allowScripts: false }).key;
    const leftovers = [`${key}.tmp-4194303-1`, `${key}.tmp-${process.pid}-999`, `0123456789abcdef.old-4194303-7`];
    for (const name of leftovers) {
      await mkdir(path.join(depsDir, name, "node_modules", "th-fixture-greet"), { recursive: true });
      await writeFile(path.join(depsDir, name, "package.json"), "{}");
    }
    // A folder with the final name but no marker (not published by an installer): never used as is.
    await mkdir(path.join(depsDir, key, "node_modules"), { recursive: true });
    expect(await deps.lookup(["th-fixture-greet@1"], { allowScripts: false })).toBeNull();

    const result: InstalledDependencies = await deps.ensure(["th-fixture-greet@1"], { allowScripts: false });
    expect(result.fromCache).toBe(false);
    expect(await versionIn(result.dir, "th-fixture-greet")).toBe("1.0.0");
    expect((await readdir(depsDir)).sort()).toEqual([key]);
  });
});

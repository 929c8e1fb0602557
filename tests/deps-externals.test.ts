import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dependencyBundleDir, dependencyExternals } from "../runtime/deps/dependency-externals.ts";
import { DependencyInstaller, type InstalledDependencies } from "../runtime/deps/install-dependencies.ts";
import { startLocalRegistry, type LocalRegistry } from "./support/local-registry.ts";

/**
 * The bundling decision of dependency-externals.ts, end to end: a task's listed
 * packages stay external and its bundle lives in the install folder, so Node
 * resolves them there: a computed require and a file read next to the package
 * work, which they do not once the package is bundled in.
 */
const SPECS = ["th-fixture-greet@^2", "th-fixture-dynamic", "@th-fixture/scoped@beta"];
const TASK = `
  import { greet } from "th-fixture-greet";
  import * as dynamic from "th-fixture-dynamic";
  import { version } from "@th-fixture/scoped";
  console.log(JSON.stringify({ greet: greet("task"), word: dynamic.word("fr"), note: dynamic.readme(), scoped: version }));
`;

let registry: LocalRegistry;
let tmp: string;
let installed: InstalledDependencies;

beforeAll(async () => {
  registry = await startLocalRegistry();
  tmp = await mkdtemp(path.join(os.tmpdir(), "th-deps-ext-"));
  await writeFile(path.join(tmp, "npmrc"), "");
  const deps = new DependencyInstaller({
    registry: registry.url,
    installTimeoutSec: 60,
    dataDir: path.join(tmp, "data"),
    env: { ...process.env, npm_config_cache: path.join(tmp, "npm-cache"), npm_config_userconfig: path.join(tmp, "npmrc") },
  });
  installed = await deps.ensure(SPECS, { allowScripts: false });
});

afterAll(async () => {
  await registry?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function bundleAndRun(outFile: string, options: { external?: string[]; nodePaths?: string[] }) {
  const result = await build({
    stdin: { contents: TASK, resolveDir: tmp, loader: "ts", sourcefile: "task.ts" },
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    banner: { js: 'import { createRequire as __thCreateRequire } from "node:module";const require = __thCreateRequire(import.meta.url);' },
    ...options,
  });
  await mkdir(path.dirname(outFile), { recursive: true });
  await writeFile(outFile, result.outputFiles[0]!.contents);
  return promisify(execFile)(process.execPath, [outFile], { cwd: tmp });
}

describe("task bundles with dependencies", () => {
  it("keep the packages external and resolve them from the install folder", async () => {
    const out = path.join(dependencyBundleDir(installed.dir), "task.mjs");
    const { stdout } = await bundleAndRun(out, { external: dependencyExternals(SPECS) });
    expect(JSON.parse(stdout)).toEqual({
      greet: "hello task from th-fixture-greet 2.0.0",
      word: "bonjour",
      note: "read from the package folder",
      scoped: "1.1.0-beta.1",
    });
  });

  it("(the alternative: bundled in, the package cannot find its own files)", async () => {
    const out = path.join(tmp, "elsewhere", "task.mjs");
    const run = bundleAndRun(out, { nodePaths: [path.join(installed.dir, "node_modules")] });
    await expect(run).rejects.toThrow(/__dirname is not defined|Cannot find module .*fr\.json/);
  });
});

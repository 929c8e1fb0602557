/**
 * Where the project is reaches task code in each worker's workerData, at
 * every isolation level: not through the host's process.env, which the host
 * no longer writes (and which here says something else on purpose). sql.js
 * loads from taskhost's own install (packageDir): the bundle's folder and the
 * project have no node_modules.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { IsolateKit, taskSource } from "./support/isolate-kit.ts";
import { PACKAGE_DIR } from "../runtime/runtime-paths.ts";
import type { Isolation } from "../runtime/scheduler/run-launcher.ts";

const PRELUDE = `
import { execFileSync } from "node:child_process";
import { getProjectRoot, loadConfig, loadSqlJs, log } from "taskhost/helpers";
`;
const BODY = `
  const child = execFileSync("sh", ["-c", "echo $TASKHOST_PROJECT_ROOT $TASKHOST_DATA_DIR"], { encoding: "utf8" }).trim();
  log.info(JSON.stringify({ root: getProjectRoot(), data: process.env.TASKHOST_DATA_DIR, config: loadConfig().who, sqljs: typeof (await loadSqlJs()).Database, child }));
`;

let kit: IsolateKit;
const saved = { root: process.env.TASKHOST_PROJECT_ROOT, data: process.env.TASKHOST_DATA_DIR, config: process.env.TASKHOST_CONFIG_FILE };

beforeAll(async () => {
  kit = await IsolateKit.create();
  process.env.TASKHOST_PROJECT_ROOT = "/not/the/project";
  process.env.TASKHOST_DATA_DIR = "/not/the/data";
  process.env.TASKHOST_CONFIG_FILE = "/not/the/config.yaml";
});

afterAll(async () => {
  for (const [name, value] of [["TASKHOST_PROJECT_ROOT", saved.root], ["TASKHOST_DATA_DIR", saved.data], ["TASKHOST_CONFIG_FILE", saved.config]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await kit.dispose();
});

it.each<Isolation>(["worker", "context", "task"])("under %s, helpers and the processes a run starts see the paths the launcher was given", async (isolation) => {
  const dataDir = path.join(kit.root, "elsewhere-data");
  // The host's configuration (`start --config`): loadConfig() in a task reads it, not config/config.yaml.
  const configFile = path.join(kit.root, "elsewhere", "other.yaml");
  await mkdir(path.dirname(configFile), { recursive: true });
  await writeFile(configFile, "who: other\n");
  const launcher = kit.launcher({ paths: { projectRoot: kit.root, packageDir: PACKAGE_DIR, dataDir, configFile } });
  try {
    const bundle = await kit.bundle(`paths-${isolation}`, taskSource(BODY, PRELUDE));
    const run = kit.run(launcher, bundle, { isolation });
    expect(await run.outcome).toMatchObject({ status: "success" });
    const seen = JSON.parse(run.text().slice(run.text().indexOf("{"))) as Record<string, string>;
    expect(seen).toEqual({ root: kit.root, data: dataDir, config: "other", sqljs: "function", child: `${kit.root} ${dataDir}` });
  } finally {
    await launcher.close();
  }
  // The host's own environment is as it was.
  expect(process.env.TASKHOST_PROJECT_ROOT).toBe("/not/the/project");
});

/**
 * `npm run typecheck`: `tsc --noEmit` (strict) over the project, where each task
 * with `dependencies` is checked against the packages installed for it alone
 * (`data/deps/<key>/node_modules`, as the host installs them), not the project's
 * node_modules, where they are not. Tasks are grouped by dependency set; each
 * group is one tsc run whose bare imports resolve in that set's install folder
 * first. A set that is not installed yet is named (start the host once).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { loadConfigOrLastGood } from "../runtime/config/last-good-config.ts";
import { findTaskFiles } from "../runtime/host/find-task-files.ts";
import { parseTaskFile } from "../runtime/task-file/parse-task-file.ts";
import { dependencyKey } from "../runtime/deps/dependency-key.ts";
import { PACKAGE_DIR } from "../runtime/runtime-paths.ts";

const root = path.resolve(process.env.TASKHOST_ROOT ?? process.cwd());
const { config } = loadConfigOrLastGood("config/config.yaml", root);
const dataDir = path.dirname(config.database.path);
const outDir = path.join(dataDir, "cache", "typecheck");
mkdirSync(outDir, { recursive: true });
const tsc = createRequire(path.join(PACKAGE_DIR, "package.json")).resolve("typescript/bin/tsc");
const rootConfig = path.join(root, "tsconfig.json");
const taskhostPaths = {
  taskhost: [path.join(PACKAGE_DIR, "runtime", "api", "index.ts")],
  "taskhost/helpers": [path.join(PACKAGE_DIR, "helpers", "index.ts")],
};

interface Group {
  installDir: string;
  specs: readonly string[];
  files: string[];
}

const groups = new Map<string, Group>();
const problems: string[] = [];
// Examples count only when the host loads them (tasks.include_example_tasks); otherwise they are plain files.
for (const file of (await findTaskFiles(config.tasks.directory, config.tasks.includeExampleTasks)).files) {
  const rel = path.relative(root, file);
  let meta;
  try {
    meta = parseTaskFile(readFileSync(file, "utf8"), rel).meta;
  } catch {
    continue; // a broken frontmatter is the host's to report; tsc still checks the code below
  }
  if (meta.dependencies.length === 0) continue;
  let key;
  try {
    key = dependencyKey({ specs: meta.dependencies, allowScripts: meta.allowScripts, registry: config.dependencies.registry }).key;
  } catch (error) {
    problems.push(`${rel}: ${(error as Error).message}`);
    continue;
  }
  const group = groups.get(key) ?? { installDir: path.join(dataDir, "deps", key), specs: meta.dependencies, files: [] };
  group.files.push(file);
  groups.set(key, group);
}

const writeConfig = (name: string, body: object): string => {
  const file = path.join(outDir, name);
  writeFileSync(file, `${JSON.stringify({ extends: rootConfig, ...body }, null, 2)}\n`);
  return file;
};
const run = (project: string): number => {
  const result = spawnSync(process.execPath, [tsc, "--noEmit", "-p", project], { cwd: root, encoding: "utf8" });
  // Every file of the project is a task with dependencies: nothing is left for this run.
  if (/error TS18003:/.test(result.stdout) && !/error TS(?!18003)/.test(result.stdout)) return 0;
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  return result.status ?? 1;
};

let failed = problems.length > 0;
for (const line of problems) process.stderr.write(`${line}\n`);
// The project without the tasks that have dependencies: their packages are not in node_modules.
const depTasks = [...groups.values()].flatMap((g) => g.files);
if (run(writeConfig("tsconfig.project.json", { exclude: depTasks, compilerOptions: { paths: taskhostPaths } })) !== 0) failed = true;
for (const [key, group] of groups) {
  const rels = group.files.map((f) => path.relative(root, f)).join(", ");
  const modules = path.join(group.installDir, "node_modules");
  if (!existsSync(modules)) {
    process.stderr.write(`${rels}: dependencies ${group.specs.join(", ")} are not installed yet (the host installs them when it loads the task: start it once), so this task was not type-checked\n`);
    failed = true;
    continue;
  }
  const project = writeConfig(`tsconfig.deps-${key}.json`, {
    include: [],
    files: group.files,
    compilerOptions: {
      // A task is bundled by esbuild: bundler resolution is the faithful model, and it lets a
      // `paths` entry name a package folder (its package.json "types"/"exports" are read).
      module: "ESNext",
      moduleResolution: "Bundler",
      paths: { ...taskhostPaths, "*": [path.join(modules, "*"), path.join(modules, "@types", "*")] },
      typeRoots: [path.join(root, "node_modules", "@types"), path.join(modules, "@types")],
    },
  });
  if (run(project) !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;

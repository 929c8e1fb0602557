import { existsSync } from "node:fs";
import path from "node:path";
import { ERR_CONFIG_MISSING, taskhostError } from "../errors.ts";
import { describeConfigProblem, loadConfigOrLastGood, type ConfigProblem } from "../config/last-good-config.ts";
import { resolveConfig } from "../config/resolve-config.ts";
import type { ResolvedConfig } from "../config/config-options.ts";
import { hostFiles } from "../host/host-files.ts";
import type { ProjectContext } from "../host/project-context.ts";

/** A command's view of the project (the supervisor and the runtime take the same). */
export type CliContext = ProjectContext;

export const DEFAULT_CONFIG_PATH = "config/config.yaml";

/**
 * The project: TASKHOST_ROOT, else the working directory, or, from a folder
 * inside a project (`tasks/reports/`), the nearest one above it that is one (it
 * has config/config.yaml and tasks/, or a running host's data/taskhost.pid),
 * as npm and git find their root. Only taskhost's own files mark one: a
 * `tasks/` alone in a home folder does not, nor a stray data/scheduler.db.
 */
export function findProjectRoot(cwd = process.cwd()): string {
  if (process.env.TASKHOST_ROOT) return path.resolve(process.env.TASKHOST_ROOT);
  const marked = (dir: string) =>
    (existsSync(path.join(dir, DEFAULT_CONFIG_PATH)) && existsSync(path.join(dir, "tasks"))) || existsSync(path.join(dir, "data", "taskhost.pid"));
  if (existsSync(path.join(cwd, "tasks")) || existsSync(path.join(cwd, "config"))) return cwd;
  for (let dir = path.dirname(cwd); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (marked(dir)) return dir;
  }
  return cwd;
}

/**
 * A config file given with --config must exist: a typo in the path would
 * otherwise run a host on every default (other tasks, another ledger) without
 * a word. Without --config, config/config.yaml may be absent (every key is optional).
 */
export function givenConfigPath(option: string): string {
  const absPath = path.resolve(findProjectRoot(), option);
  if (!existsSync(absPath)) {
    throw taskhostError(
      ERR_CONFIG_MISSING,
      `taskhost: --config ${option}: no such file (${absPath}); give an existing file, or leave --config out to use ${DEFAULT_CONFIG_PATH}`,
    );
  }
  return option;
}

/**
 * The project is found by findProjectRoot; the config file is
 * found from it. A config file being edited into shape must not lock people
 * out of a running host: with a broken file, commands warn and use the last good
 * configuration a host ran on, or else the default paths (where the host's socket
 * and ledger are unless the file moved them).
 */
export function cliContext(
  configOption: string | undefined,
  { strict = false, warn = true }: { strict?: boolean; /** false: the command says it itself (status, restart) */ warn?: boolean } = {},
): CliContext {
  const projectRoot = findProjectRoot();
  const configPath = path.resolve(projectRoot, configOption ?? DEFAULT_CONFIG_PATH);
  let config: ResolvedConfig;
  let configProblem: ConfigProblem | null = null;
  let configWarnings: string[] = [];
  try {
    const loaded = loadConfigOrLastGood(configPath, projectRoot);
    ({ config, problem: configProblem } = loaded);
    configWarnings = loaded.warnings.map((w) => w.message);
    if (configProblem && warn) warnConfigProblem(configProblem);
  } catch (error) {
    // Starting a host on a configuration it cannot read would only fail later.
    if (strict) throw error;
    process.stderr.write(`warning: ${error instanceof Error ? error.message : String(error)}\nwarning: using the default paths for this command\n`);
    config = resolveConfig(undefined, { projectRoot, configPath }).config;
  }
  return { projectRoot, configPath, config, files: hostFiles(path.dirname(config.database.path)), configProblem, configWarnings };
}

/**
 * The context a host starts in, or null after saying why not: with no last good
 * configuration to fall back on, only fixing the file helps (exit 78, which
 * systemd's unit does not retry).
 */
export function startContext(configOption: string): CliContext | null {
  try {
    return cliContext(configOption, { strict: true });
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\ntaskhost: fix the config file and start again\n`);
    return null;
  }
}

export function warnConfigProblem(problem: ConfigProblem): void {
  process.stderr.write(`warning: ${describeConfigProblem(problem)}\n`);
}

import path from "node:path";
import { loadConfigFile } from "../config/load-config-file.ts";
import type { ResolvedConfig } from "../config/config-options.ts";
import { hostFiles, type HostFiles } from "../host/host-files.ts";

export interface CliContext {
  projectRoot: string;
  configPath: string;
  config: ResolvedConfig;
  files: HostFiles;
}

export const DEFAULT_CONFIG_PATH = "config/config.yaml";

/** The project is the working directory (or TASKHOST_ROOT); the config file is found from it. */
export function cliContext(configOption: string | undefined): CliContext {
  const projectRoot = path.resolve(process.env.TASKHOST_ROOT ?? process.cwd());
  const configPath = path.resolve(projectRoot, configOption ?? DEFAULT_CONFIG_PATH);
  const { config } = loadConfigFile(configPath, projectRoot);
  return { projectRoot, configPath, config, files: hostFiles(path.dirname(config.database.path)) };
}

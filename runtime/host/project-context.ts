import type { ConfigProblem } from "../config/last-good-config.ts";
import type { ResolvedConfig } from "../config/config-options.ts";
import type { HostFiles } from "./host-files.ts";

/**
 * A project as a process sees it: where it is, the configuration read from it,
 * and where its host keeps its lock, socket and caches. What commands, the
 * supervisor and the runtime they build are given.
 */
export interface ProjectContext {
  projectRoot: string;
  configPath: string;
  config: ResolvedConfig;
  files: HostFiles;
  /** Set when config.yaml is invalid and the last good copy (under data/) stands in for it. */
  configProblem: ConfigProblem | null;
  /** What the configuration read ignores (unknown keys), each naming the file and line; commands only. */
  configWarnings?: readonly string[];
}

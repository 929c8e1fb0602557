import { displayConfigPath } from "../config/resolve-config.ts";
import { configProblem, saveLastGoodConfig, type ConfigProblem, type LoadedConfig } from "../config/last-good-config.ts";
import { watchConfig } from "../host/watch-config.ts";
import type { HostLog } from "../scheduler/scheduler-types.ts";
import type { Runtime } from "./compose-runtime.ts";
import { reloadConfig, type ReloadParts } from "./reload-config.ts";

export interface HostConfig {
  /** Set while config.yaml is invalid and an older configuration is in force (status, dashboard). */
  problem(): ConfigProblem | null;
  /** What the configuration in force says is ignored (unknown keys), each naming the file and line. */
  warnings(): string[];
  close(): Promise<void>;
}

/**
 * The host's configuration file, live: what the host starts on is kept as the
 * last good copy (the next start falls back on it while the file is broken);
 * each save is reloaded (reload-config.ts) or refused, and the problem is
 * known until the file is fixed.
 */
/** What the host starts on, said first in its log: the file's warnings, or that it is broken and an older copy runs. */
export function reportStartConfig(initial: LoadedConfig, log: HostLog): void {
  for (const warning of initial.warnings) log.warn({ event: "config.warning", key: warning.key }, warning.message);
  const { problem } = initial;
  if (problem) {
    log.error(
      { event: "config.invalid", file: problem.file, since: problem.since, lastGoodSavedAt: problem.lastGoodSavedAt, error: problem.error },
      `${problem.file} is invalid (since ${problem.since}); running on the last good configuration (saved ${problem.lastGoodSavedAt}) until it is fixed: ${problem.error}`,
    );
  }
}

export async function watchHostConfig(initial: LoadedConfig, parts: ReloadParts): Promise<HostConfig> {
  const runtime: Runtime = parts.runtime;
  const { files, log } = runtime;
  let problem = initial.problem;
  let lastGoodSavedAt: string | null = problem?.lastGoodSavedAt ?? null;
  let warnings = initial.warnings.map((w) => w.message);
  const keepAsLastGood = async (source: string | null) => {
    try {
      lastGoodSavedAt = await saveLastGoodConfig(files.dataDir, source, displayConfigPath(runtime.config.configPath, runtime.config.projectRoot));
    } catch (error) {
      log.warn({ event: "config.save_failed", err: error }, `could not keep a copy of the configuration in ${files.dataDir}: ${String(error)}`);
    }
  };
  if (!problem) await keepAsLastGood(initial.source);
  const watching = await watchConfig({
    configPath: runtime.config.configPath,
    projectRoot: runtime.config.projectRoot,
    current: () => runtime.config,
    apply: (next, changed) => reloadConfig(parts, next, changed),
    log: () => log,
    rejected: (error) => {
      problem = configProblem(runtime.config.configPath, runtime.config.projectRoot, error, problem?.lastGoodSavedAt ?? lastGoodSavedAt);
    },
    accepted: async (source, accepted) => {
      // Kept first: once status stops saying "invalid", the next restart starts on this.
      await keepAsLastGood(source);
      warnings = accepted.map((w) => w.message);
      if (problem) log.info({ event: "config.valid", file: problem.file }, `${problem.file} is valid again and in force`);
      problem = null;
    },
  });
  return { problem: () => problem, warnings: () => warnings, close: () => watching.close() };
}

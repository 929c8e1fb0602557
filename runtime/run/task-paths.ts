/**
 * Where task code finds the project and taskhost's own install: what helpers
 * ask (getProjectRoot, the packages they load from taskhost's node_modules).
 * The host hands them to each worker in its `workerData`, never through its
 * own process.env (two runtimes in one process, or a command beside a host,
 * must not overwrite each other's); the worker then publishes them in its own
 * environment (a private copy), where helpers and the processes a run starts
 * read them.
 */
export interface TaskPaths {
  /** The project root (config/, tasks/, data/). */
  readonly projectRoot: string;
  /** taskhost's own installation (its package.json's folder). */
  readonly packageDir: string;
  /** The host's data folder (saveConfig writes under it: writable under the systemd unit). */
  readonly dataDir: string;
  /** The host's configuration file (`start --config`, default config/config.yaml): loadConfig() and sendEmail read it. */
  readonly configFile: string;
}

/** The environment variables the paths are published under, inside a worker. */
export const TASK_PATH_VARIABLES = {
  projectRoot: "TASKHOST_PROJECT_ROOT",
  packageDir: "TASKHOST_PACKAGE_DIR",
  dataDir: "TASKHOST_DATA_DIR",
  configFile: "TASKHOST_CONFIG_FILE",
} as const satisfies Record<keyof TaskPaths, string>;

/** Run inside a worker, before any task code: the paths as this thread's environment. */
export function publishTaskPaths(paths: TaskPaths, env: NodeJS.ProcessEnv = process.env): void {
  for (const [key, name] of Object.entries(TASK_PATH_VARIABLES)) env[name] = paths[key as keyof TaskPaths];
}

/**
 * The one error module. Every error taskhost throws on purpose carries one of
 * the `ERR_*` codes below as `code`, and a message that names the component,
 * the file or key at fault, and says what to do. Callers branch on codes with
 * `isCode(error, ERR_X)`, never on message text.
 *
 * Add a code here (with one line saying when it is thrown) before using it.
 */

/** Every code taskhost throws, with when. Codes are stable: users and scripts match on them. */
export const ERROR_CODES = {
  // configuration
  ERR_CONFIG_PARSE: "config/config.yaml (or --config) is not valid YAML",
  ERR_CONFIG_INVALID: "a config key has a value taskhost cannot honour",
  ERR_CONFIG_NAME: "a config key is unknown where unknown keys are refused",
  ERR_CONFIG_MISSING: "--config names a file that does not exist",
  ERR_TIMEZONE_INVALID: "a time zone is not an IANA name this Node knows",
  // task files
  ERR_TASK_FRONTMATTER: "a task file's frontmatter is not valid YAML or has a field of the wrong type",
  ERR_TASK_BUNDLE: "esbuild could not bundle a task file",
  ERR_TASK_IMPORT: "a task's bundle threw, exited or hung while it was imported",
  ERR_TASK_LOAD: "a task did not load (the message says why)",
  ERR_TASK_NODE_VERSION: "a task's node_version is not satisfied by this Node",
  ERR_TASK_OUTSIDE_DIR: "a task path is outside the tasks directory",
  ERR_TASK_INSTALLING: "a task cannot run yet: its dependencies are being installed",
  ERR_SCHEDULE_INVALID: "a schedule (every/cron/once) is invalid",
  ERR_DEPENDENCY_INSTALL: "npm could not install a task's dependencies",
  ERR_INSPECTOR_STOPPED: "a bundle inspection was cut off because the host is stopping",
  // the scheduler and runs
  ERR_UNKNOWN_TASK: "no task with this id (loaded or in the ledger)",
  ERR_UNKNOWN_METHOD: "the task has no method of this name",
  ERR_METHOD_AMBIGUOUS: "the task has several methods and none was named",
  ERR_SCHEDULER_STOPPED: "the host is stopping; no new run starts",
  // the ledger
  ERR_DB_CORRUPT: "the ledger file (and its backup) is not a usable database",
  ERR_DB_VERSION: "the ledger was written by a newer taskhost",
  ERR_DB_READ: "the ledger cannot be read",
  ERR_DB_WRITE: "the ledger cannot be written (disk full, permissions)",
  ERR_DB_LOCKED: "another host holds the ledger's writer lock",
  ERR_DB_UNREACHABLE: "the PostgreSQL ledger cannot be reached",
  ERR_CLAIM_LOST: "a claimed occurrence was taken back before it started (its host's lease lapsed; another host took over)",
  ERR_STORE_CLOSED: "a ledger call came after close()",
  ERR_STORE_OPTIONS: "the ledger's options are invalid",
  ERR_STORE_ARGUMENT: "a ledger method's argument is invalid",
  ERR_STATE_VALUE: "a task state value cannot be stored as JSON",
  // the host and its commands
  ERR_HOST_RUNNING: "a host already runs for this project",
  ERR_HOST_BUSY: "the host owns the ledger but is not answering yet",
  ERR_CONTROL_SOCKET: "the control socket's folder is not private to the host's user, or the socket cannot be reached",
  ERR_NO_HOST: "no host is running",
  ERR_NO_LEDGER: "there is no ledger yet",
  ERR_UNKNOWN_REQUEST: "the host does not know this control request (a host older than the CLI)",
  ERR_BAD_FLAGS: "command-line flags contradict each other",
  // the dashboard's HTTP answers
  ERR_BAD_REQUEST: "the request is malformed",
  ERR_UNAUTHORIZED: "no valid token or session",
  ERR_FORBIDDEN: "the request is not allowed from there",
  ERR_NOT_FOUND: "no such page or object",
  ERR_METHOD_NOT_ALLOWED: "the HTTP method is not allowed here",
  ERR_CONFLICT: "the object changed since it was read",
  ERR_PAYLOAD_TOO_LARGE: "the request body is over the limit",
  ERR_UNAVAILABLE: "the host is stopping or not ready",
  ERR_INTERNAL: "an unexpected error (a bug: the log has the stack)",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Each code as a named constant: import `ERR_X` from here (the one place codes are defined). */
export const ERR_CONFIG_PARSE = "ERR_CONFIG_PARSE" satisfies ErrorCode;
export const ERR_CONFIG_INVALID = "ERR_CONFIG_INVALID" satisfies ErrorCode;
export const ERR_CONFIG_NAME = "ERR_CONFIG_NAME" satisfies ErrorCode;
export const ERR_CONFIG_MISSING = "ERR_CONFIG_MISSING" satisfies ErrorCode;
export const ERR_TIMEZONE_INVALID = "ERR_TIMEZONE_INVALID" satisfies ErrorCode;
export const ERR_TASK_FRONTMATTER = "ERR_TASK_FRONTMATTER" satisfies ErrorCode;
export const ERR_TASK_BUNDLE = "ERR_TASK_BUNDLE" satisfies ErrorCode;
export const ERR_TASK_IMPORT = "ERR_TASK_IMPORT" satisfies ErrorCode;
export const ERR_TASK_LOAD = "ERR_TASK_LOAD" satisfies ErrorCode;
export const ERR_TASK_NODE_VERSION = "ERR_TASK_NODE_VERSION" satisfies ErrorCode;
export const ERR_TASK_OUTSIDE_DIR = "ERR_TASK_OUTSIDE_DIR" satisfies ErrorCode;
export const ERR_TASK_INSTALLING = "ERR_TASK_INSTALLING" satisfies ErrorCode;
export const ERR_SCHEDULE_INVALID = "ERR_SCHEDULE_INVALID" satisfies ErrorCode;
export const ERR_DEPENDENCY_INSTALL = "ERR_DEPENDENCY_INSTALL" satisfies ErrorCode;
export const ERR_INSPECTOR_STOPPED = "ERR_INSPECTOR_STOPPED" satisfies ErrorCode;
export const ERR_UNKNOWN_TASK = "ERR_UNKNOWN_TASK" satisfies ErrorCode;
export const ERR_UNKNOWN_METHOD = "ERR_UNKNOWN_METHOD" satisfies ErrorCode;
export const ERR_METHOD_AMBIGUOUS = "ERR_METHOD_AMBIGUOUS" satisfies ErrorCode;
export const ERR_SCHEDULER_STOPPED = "ERR_SCHEDULER_STOPPED" satisfies ErrorCode;
export const ERR_DB_CORRUPT = "ERR_DB_CORRUPT" satisfies ErrorCode;
export const ERR_DB_VERSION = "ERR_DB_VERSION" satisfies ErrorCode;
export const ERR_DB_READ = "ERR_DB_READ" satisfies ErrorCode;
export const ERR_DB_WRITE = "ERR_DB_WRITE" satisfies ErrorCode;
export const ERR_DB_LOCKED = "ERR_DB_LOCKED" satisfies ErrorCode;
export const ERR_DB_UNREACHABLE = "ERR_DB_UNREACHABLE" satisfies ErrorCode;
export const ERR_CLAIM_LOST = "ERR_CLAIM_LOST" satisfies ErrorCode;
export const ERR_STORE_CLOSED = "ERR_STORE_CLOSED" satisfies ErrorCode;
export const ERR_STORE_OPTIONS = "ERR_STORE_OPTIONS" satisfies ErrorCode;
export const ERR_STORE_ARGUMENT = "ERR_STORE_ARGUMENT" satisfies ErrorCode;
export const ERR_STATE_VALUE = "ERR_STATE_VALUE" satisfies ErrorCode;
export const ERR_HOST_RUNNING = "ERR_HOST_RUNNING" satisfies ErrorCode;
export const ERR_HOST_BUSY = "ERR_HOST_BUSY" satisfies ErrorCode;
export const ERR_CONTROL_SOCKET = "ERR_CONTROL_SOCKET" satisfies ErrorCode;
export const ERR_NO_HOST = "ERR_NO_HOST" satisfies ErrorCode;
export const ERR_NO_LEDGER = "ERR_NO_LEDGER" satisfies ErrorCode;
export const ERR_UNKNOWN_REQUEST = "ERR_UNKNOWN_REQUEST" satisfies ErrorCode;
export const ERR_BAD_FLAGS = "ERR_BAD_FLAGS" satisfies ErrorCode;
export const ERR_BAD_REQUEST = "ERR_BAD_REQUEST" satisfies ErrorCode;
export const ERR_UNAUTHORIZED = "ERR_UNAUTHORIZED" satisfies ErrorCode;
export const ERR_FORBIDDEN = "ERR_FORBIDDEN" satisfies ErrorCode;
export const ERR_NOT_FOUND = "ERR_NOT_FOUND" satisfies ErrorCode;
export const ERR_METHOD_NOT_ALLOWED = "ERR_METHOD_NOT_ALLOWED" satisfies ErrorCode;
export const ERR_CONFLICT = "ERR_CONFLICT" satisfies ErrorCode;
export const ERR_PAYLOAD_TOO_LARGE = "ERR_PAYLOAD_TOO_LARGE" satisfies ErrorCode;
export const ERR_UNAVAILABLE = "ERR_UNAVAILABLE" satisfies ErrorCode;
export const ERR_INTERNAL = "ERR_INTERNAL" satisfies ErrorCode;

/** An error with a registered code. `cause` keeps the underlying error. */
export class TaskhostError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TaskhostError";
    this.code = code;
  }
}

/** Creates a coded error; `fields` become properties (e.g. `key` of a config error). */
export function taskhostError<T extends object = object>(code: ErrorCode, message: string, fields?: T & { cause?: unknown }): TaskhostError & T {
  const { cause, ...rest } = (fields ?? {}) as T & { cause?: unknown };
  return Object.assign(new TaskhostError(code, message, { cause }), rest) as TaskhostError & T;
}

/** Whether `error` carries `code` (also for errors from before this module, with a plain `code` property). */
export function isCode(error: unknown, code: ErrorCode): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === code;
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

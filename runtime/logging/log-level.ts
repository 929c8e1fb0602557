/**
 * The four levels of every taskhost log line: the host's and task logs
 * (logging.level), a run's output (run logs, worker messages) and the
 * helpers' `log`. Kept apart so config, the scheduler's ports, the run layer
 * and helpers/ share it without importing each other.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

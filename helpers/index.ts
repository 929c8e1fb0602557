/**
 * Helpers for task authors, importable as `taskhost/helpers`.
 * (The full helper set — config, logging, notifications, external execution,
 * workflows — is tracked in its own issue.)
 */
export { getProjectRoot } from "./project-root.ts";

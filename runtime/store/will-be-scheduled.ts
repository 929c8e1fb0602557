import type { TaskRow } from "./ledger.ts";

/** Whether the next host start will schedule the task: its file is there, enabled, and loaded last time. */
export function willBeScheduled(task: TaskRow): boolean {
  return task.removedAt == null && task.enabled && task.error == null;
}

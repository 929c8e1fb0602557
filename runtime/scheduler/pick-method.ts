import { taskhostError } from "../errors.ts";
import type { LoadedTask } from "../task-file/loaded-task.ts";

/**
 * The method a manual run of `task` runs: the one named, else its only
 * scheduled method, else `start`, else its only method.
 */
export function pickMethod(task: LoadedTask, name: string | undefined): string {
  const candidates = [...new Set(task.schedules.map((s) => s.method))];
  if (name) {
    if (!task.methods.includes(name)) {
      throw taskhostError("ERR_UNKNOWN_METHOD", `taskhost: task "${task.id}" has no method "${name}" (it has: ${task.methods.join(", ") || "none"})`);
    }
    return name;
  }
  if (candidates.length === 1) return candidates[0]!;
  if (task.methods.includes("start")) return "start";
  if (candidates.length === 0 && task.methods.length === 1) return task.methods[0]!;
  throw taskhostError(
    "ERR_UNKNOWN_METHOD",
    `taskhost: task "${task.id}" has several methods; name one as ${task.id}#<method> (one of: ${(candidates.length ? candidates : task.methods).join(", ")})`,
  );
}

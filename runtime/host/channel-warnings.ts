/**
 * A task whose frontmatter `alerts:` names a channel that alerts.channels does
 * not define would find out only at its first alert; status says so at once,
 * as it says an unknown field: with the file and line. Computed when asked, so
 * a channel added to config.yaml clears it without the task reloading.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { StatusJson } from "./report-shapes.ts";
import { findFrontmatter, readYaml } from "../task-file/read-frontmatter.ts";

export function withChannelWarnings(
  status: StatusJson,
  options: { projectRoot: string; unknownChannels: ReadonlyMap<string, readonly string[]>; channels: readonly string[] },
): StatusJson {
  if (options.unknownChannels.size === 0) return status;
  const known = options.channels.length ? `alerts.channels has: ${options.channels.join(", ")}` : "alerts.channels defines none";
  return {
    ...status,
    tasks: status.tasks.map((task) => {
      const unknown = options.unknownChannels.get(task.id);
      if (!unknown?.length) return task;
      const line = alertsLine(path.join(options.projectRoot, task.file), task.file);
      const warnings = unknown.map((name) => `${task.file}:${line}: alerts: "${name}" is not an alert channel (${known}), so none of its alerts go there`);
      return { ...task, warnings: [...task.warnings, ...warnings] };
    }),
  };
}

/** The line of the frontmatter's `alerts:` field (1 if it cannot be read now). */
function alertsLine(absFile: string, relFile: string): number {
  try {
    const block = findFrontmatter(readFileSync(absFile, "utf8"), relFile);
    return (block && readYaml(block, relFile).fields.find((f) => f.name === "alerts")?.line) ?? 1;
  } catch {
    return 1;
  }
}

/**
 * An error a task's bundle threw while it was imported (a bad `every(0)`, a
 * `cron("61 * * * *")`, a throw at the top level), as users read it: the task
 * file's `file:line:column` first, as syntax and YAML errors have it, and only
 * the frames of the project's own files, not taskhost's compiled API module
 * (`data/cache/taskhost-api-….mjs`) or Node's internals.
 */
export function importErrorMessage(relFile: string, stack: string): string {
  const lines = stack.split("\n");
  const firstFrame = lines.findIndex((line) => /^\s+at /.test(line));
  const head = (firstFrame < 0 ? lines : lines.slice(0, firstFrame)).join("\n").replace(/^Error: /, "");
  const frames = firstFrame < 0 ? [] : lines.slice(firstFrame).map((line) => line.trim());
  const own = frames.filter((frame) => !isInternal(frame));
  const location = own.map((frame) => locationIn(frame, relFile)).find((loc) => loc != null);
  const at = location ?? relFile;
  // The frame that gave the location says nothing more; other own frames (a helper on the way) do.
  const rest = own.filter((frame) => location == null || locationIn(frame, relFile) !== location);
  return [`${at}: ${head}`, ...rest.map((frame) => `    ${frame}`)].join("\n");
}

function isInternal(frame: string): boolean {
  return /\bnode:|taskhost-api-[0-9a-f]+\.mjs|worker-entry|\/node_modules\/|^at (async )?ModuleJob|^at (async )?ModuleLoader/.test(frame);
}

function locationIn(frame: string, relFile: string): string | null {
  const escaped = relFile.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const match = new RegExp(`(?:\\(|at )(?:file://)?(?:.*/)?(${escaped}:\\d+:\\d+)\\)?$`).exec(frame);
  return match ? match[1]! : null;
}

/**
 * Reads the host's `logs/scheduler.log` (one JSON object a line) across the
 * files it rolled into: a bench that crosses midnight or a size limit sees
 * every line, not only the current file's.
 */
import { open } from "node:fs/promises";
import type { TempProject } from "../../tests/support/temp-project.ts";
import { hostLogFiles } from "../../tests/support/host-log.ts";

export { hostEvents } from "../../tests/support/fault-host.ts";

/** Counts `event` lines, reading only what each log file gained since the last call. */
export function eventCounter(project: TempProject, event: string): () => Promise<number> {
  const read = new Map<string, number>();
  const needle = `"event":"${event}"`;
  let count = 0;
  let partial = "";
  return async () => {
    for (const file of await hostLogFiles(project.root)) {
      const handle = await open(file, "r").catch(() => null);
      if (!handle) continue;
      try {
        const from = read.get(file) ?? 0;
        const { size } = await handle.stat();
        if (size <= from) continue;
        const buffer = Buffer.alloc(size - from);
        await handle.read(buffer, 0, buffer.length, from);
        read.set(file, size);
        // A line cut at the end of this read is counted once it is whole.
        const lines = (partial + buffer.toString("utf8")).split("\n");
        partial = lines.pop() ?? "";
        count += lines.filter((line) => line.includes(needle)).length;
      } finally {
        await handle.close();
      }
    }
    return count;
  };
}

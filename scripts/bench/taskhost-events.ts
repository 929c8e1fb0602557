/** Reads the host's `logs/scheduler.log` (one JSON object a line). */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { TempProject } from "../../tests/support/temp-project.ts";

export type HostEvent = Record<string, unknown> & { event?: string };

export async function hostEvents(project: TempProject, event: string): Promise<HostEvent[]> {
  const text = await readFile(path.join(project.root, "logs", "scheduler.log"), "utf8").catch(() => "");
  const events: HostEvent[] = [];
  for (const line of text.split("\n")) {
    if (!line.includes(`"event":"${event}"`)) continue;
    try {
      events.push(JSON.parse(line) as HostEvent);
    } catch {
      // a line being written right now
    }
  }
  return events;
}

/** Counts `event` lines, reading only what was appended since the last call. */
export function eventCounter(project: TempProject, event: string): () => Promise<number> {
  let offset = 0;
  let count = 0;
  const file = path.join(project.root, "logs", "scheduler.log");
  return async () => {
    const text = await readFile(file, "utf8").catch(() => "");
    const fresh = text.slice(offset);
    offset = text.length;
    count += fresh.split(`"event":"${event}"`).length - 1;
    return count;
  };
}

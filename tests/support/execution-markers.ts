/**
 * Executions counted from the task's side: a task whose code leaves one marker
 * file per execution under `<project>/markers/`, and the count of those markers
 * against the ledger's runs (none unrecorded, none doubled). Used by the
 * crash-safety tests and the adversarial bench.
 */
import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";

export interface Marker {
  scheduleId: string;
  scheduledFor: number;
  attempt: number;
  trigger: string;
}

/** The fields of a ledger run the count needs (RunRow has them). */
export interface RecordedRun {
  scheduleId: string | null;
  scheduledFor: number | null;
  attempt: number;
  startedAt: number | null;
  status: string;
}

/** A task file whose method writes its marker first, then runs `body`. */
export function markerTask(schedule: string, body: string, frontmatter = ""): string {
  return `${frontmatter}import { repeat, every, type TaskContext } from "taskhost";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";

export default class {
  @repeat(${schedule})
  async start(ctx: TaskContext) {
    const name = [ctx.scheduleId.replace("#", "~").replaceAll("/", "_"), ctx.scheduledFor.getTime(), ctx.attempt, ctx.trigger, randomUUID()].join("@");
    writeFileSync(join(process.env.TASKHOST_PROJECT_ROOT!, "markers", name), "");
    ${body}
  }
}
`;
}

/** Makes the folder the marker tasks write to. */
export async function makeMarkersDir(projectRoot: string): Promise<void> {
  await mkdir(join(projectRoot, "markers"), { recursive: true });
}

export async function readMarkers(projectRoot: string): Promise<Marker[]> {
  return (await readdir(join(projectRoot, "markers"))).map((name) => {
    const [schedule, at, attempt, trigger] = name.split("@");
    return { scheduleId: schedule!.replace("~", "#"), scheduledFor: Number(at), attempt: Number(attempt), trigger: trigger! };
  });
}

const key = (r: { scheduleId: string | null; scheduledFor: number | null; attempt: number }) => `${r.scheduleId}@${r.scheduledFor}@${r.attempt}`;

/**
 * Executions (markers) with no run recorded for their occurrence and attempt, and
 * occurrences executed more than once (manual runs aside). A run counts as recorded
 * once it started, or as a claim a kill cut off before its start was written
 * (still "running" until the next host marks it interrupted).
 */
export function countAgainstLedger(markers: Marker[], runs: RecordedRun[]): { unrecorded: string[]; doubled: string[] } {
  const recorded = new Set(runs.filter((r) => r.startedAt !== null || r.status === "interrupted" || r.status === "running").map(key));
  const unrecorded = markers.filter((m) => !recorded.has(key(m))).map(key);
  const counts = new Map<string, number>();
  for (const m of markers) if (m.trigger !== "manual") counts.set(key(m), (counts.get(key(m)) ?? 0) + 1);
  const doubled = [...counts].filter(([, n]) => n > 1).map(([k]) => k);
  return { unrecorded, doubled };
}

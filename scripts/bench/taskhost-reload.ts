/** Save-to-live: from writing a task file (or config.yaml) to the host logging it live. */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { TempProject } from "../../tests/support/temp-project.ts";
import { waitFor } from "../../tests/support/wait-for.ts";
import { EVERY_MINUTE, taskhostTask } from "./jobs.ts";
import { percentile, sleep } from "./measure.ts";
import type { Results } from "./results.ts";
import { eventCounter } from "./taskhost-events.ts";

/** Times `edits` saves, each until `event` is logged once more. */
async function timeSaves(project: TempProject, event: string, edits: number, save: (i: number) => Promise<void>): Promise<number[]> {
  const seen = eventCounter(project, event);
  await seen();
  const latencies: number[] = [];
  for (let i = 1; i <= edits; i++) {
    const before = await seen();
    const t0 = performance.now();
    await save(i);
    await waitFor(async () => (await seen()) > before, { timeoutMs: 10_000, intervalMs: 2, what: event }).catch(async (error: unknown) => {
      const log = await readFile(path.join(project.root, "logs", "scheduler.log"), "utf8");
      throw new Error(`${String(error)}\n${log.split("\n").filter((l) => !l.includes("run.")).slice(-8).join("\n")}`);
    });
    latencies.push(performance.now() - t0);
    // Saves a human makes are seconds apart; keep the next one clear of this one's coalescing window.
    await sleep(100);
  }
  return latencies.sort((a, b) => a - b);
}

export async function taskhostReload(results: Results, edits: number, configEdits: number): Promise<void> {
  const project = await TempProject.create();
  try {
    const file = await project.writeTask("edited.ts", taskhostTask(0, EVERY_MINUTE.every));
    await project.start();
    const record = (scenario: string, latencies: number[]) => {
      results.record("taskhost", scenario, "median", percentile(latencies, 50), "ms");
      results.record("taskhost", scenario, "p95", percentile(latencies, 95), "ms");
      results.record("taskhost", scenario, "max", latencies.at(-1) ?? NaN, "ms");
    };
    record(`reload, task file saved ${edits} times`, await timeSaves(project, "task.loaded", edits, (i) => writeFile(file, taskhostTask(i, EVERY_MINUTE.every))));
    record(
      `reload, config.yaml saved ${configEdits} times`,
      await timeSaves(project, "config.reloaded", configEdits, (i) => project.writeConfig({ scheduler: { max_concurrent_runs: 4 + (i % 2) } })),
    );
  } finally {
    await project.cleanup();
  }
}

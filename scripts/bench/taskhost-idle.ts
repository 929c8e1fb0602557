/**
 * Idle cost of taskhost: N tasks every minute; CPU and RSS of supervisor + host over a window,
 * or (`supervisor: false`) of the host alone, as `start --no-supervisor` runs under systemd.
 */
import { TempProject } from "../../tests/support/temp-project.ts";
import { EVERY_MINUTE, taskhostTask } from "./jobs.ts";
import { recordIdle } from "./idle-stats.ts";
import type { Results } from "./results.ts";

export async function taskhostIdle(results: Results, jobs: number, seconds: number, supervisor = true): Promise<void> {
  const project = await TempProject.create();
  try {
    for (let i = 0; i < jobs; i++) await project.writeTask(`m${i}.ts`, taskhostTask(i, EVERY_MINUTE.every));
    const host = await project.start(supervisor ? [] : ["--no-supervisor"]);
    await recordIdle(results, "taskhost", host.pid, jobs, seconds, supervisor ? "" : "start --no-supervisor (systemd supervises)");
    await host.stop();
  } finally {
    await project.cleanup();
  }
}

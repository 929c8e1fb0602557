/**
 * Idle cost of taskhost: N tasks every minute; CPU and RSS of supervisor + host over a window,
 * or (`supervisor: false`) of the host alone, as `start --no-supervisor` runs under systemd.
 */
import { TempProject } from "../../tests/support/temp-project.ts";
import { EVERY_MINUTE, taskhostTask } from "./jobs.ts";
import { recordIdle } from "./idle-stats.ts";
import type { Results } from "./results.ts";
import { HOST_NODE_FLAGS } from "../../runtime/supervisor/host-node-flags.ts";

export async function taskhostIdle(results: Results, jobs: number, seconds: number, supervisor = true): Promise<void> {
  const project = await TempProject.create();
  try {
    for (let i = 0; i < jobs; i++) await project.writeTask(`m${i}.ts`, taskhostTask(i, EVERY_MINUTE.every));
    // Started as install.sh --no-supervisor's unit starts it: Node gets the flags the supervisor gives its host.
    const host = supervisor ? await project.start() : await project.start(["--no-supervisor"], {}, HOST_NODE_FLAGS);
    await recordIdle(results, "taskhost", host.pid, jobs, seconds, supervisor ? "" : "start --no-supervisor (systemd supervises)");
    await host.stop();
  } finally {
    await project.cleanup();
  }
}

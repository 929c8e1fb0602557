import { afterEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { hostEvents } from "./support/fault-host.ts";
import { finished, history, status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";

/** Issue 10 item 12: `taskhost start | head -2` must not crash the host. */
describe("a console whose reader goes away", () => {
  let project: TempProject;
  afterEach(async () => {
    await project.cleanup();
  });

  it("keeps the host running on its log files (no crash, no restart)", async () => {
    project = await TempProject.create();
    await project.writeTask("tick.ts", taskSource({ schedule: "every().second", body: 'ctx.log.info("tick");' }));
    const host = await project.start();
    const hostPid = await host.hostPid();
    // What `| head -2` does after two lines: close the reading end of the pipe.
    await waitFor(() => host.output().split("\n").length > 2, { what: "two console lines" });
    host.child.stdout!.destroy();

    // Runs go on after the console closed, each logging a line the console no longer takes.
    const closedAt = Date.now();
    await waitFor(async () => finished(await history(project, "tick")).filter((r) => Date.parse(r.startedAt!) > closedAt + 500).length >= 3, {
      timeoutMs: 30_000,
      what: "three runs after the console closed",
    });
    const report = await status(project);
    expect(report.host.restarts).toBe(0);
    expect(await host.hostPid()).toBe(hostPid);
    // The supervisor relays the host's output: the broken pipe is its to survive, and it keeps
    // draining the host's side. (A host with the console itself logs logs.console_closed.)
    expect((await hostEvents(project, "logs.console_closed")).length).toBeLessThanOrEqual(1);
    expect(await host.stop()).toBe(0);
  });
});

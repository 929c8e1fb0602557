import { mkdir, rename, writeFile } from "node:fs/promises";
import { hostEvents } from "./support/fault-host.ts";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { finished, history } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";
import { SETTLE_MS } from "../runtime/watch/watch-paths.ts";

// Issue 11.18 (one burst of saves, one reload) and 11.12 (no doubled reload events,
// no temporary file taken for a changed helper).


describe("file watching: one burst, one reload, one event", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create();
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("six writes 8 ms apart reload the task once, with the last write's text", async () => {
    const file = await project.writeTask("burst.ts", taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("v0");' }));
    await project.start();
    const before = (await hostEvents(project, "task.loaded")).length;
    const written: number[] = [];
    for (let i = 1; i <= 6; i++) {
      await writeFile(file, taskSource({ schedule: "every(1).seconds", body: `ctx.log.info("v${i}");` }));
      written.push(performance.now());
      await new Promise((resolve) => setTimeout(resolve, 8));
    }
    // A write that came SETTLE_MS or more after the one before (this process stalled on a busy
    // machine) starts a burst of its own, rightly reloaded again: only such pauses may add a reload.
    const pauses = written.slice(1).filter((at, i) => at - written[i]! >= SETTLE_MS).length;
    const t = Date.now();
    await waitFor(async () => finished(await history(project, "burst")).some((r) => r.output.includes("v6") && Date.parse(r.startedAt!) > t + 1000), {
      what: "runs of the last version",
    });
    const loads = (await hostEvents(project, "task.loaded")).slice(before);
    expect(loads.length).toBeGreaterThanOrEqual(1);
    expect(loads.length).toBeLessThanOrEqual(1 + pauses);
    expect(new Set(loads.map((e) => e.taskId))).toEqual(new Set(["burst"]));
  });

  it("a temporary file renamed over a helper (as `sed -i` does) reloads its importers, and is no helper itself", async () => {
    await mkdir(path.join(project.root, "helpers"), { recursive: true });
    await writeFile(path.join(project.root, "helpers", "words.ts"), 'export const word = "alpha";\n');
    await project.writeTask(
      "user.ts",
      `import { repeat, every, type TaskContext } from "taskhost";
import { word } from "../helpers/words.ts";
export default class { @repeat(every(1).seconds) async start(ctx: TaskContext) { ctx.log.info(word); } }
`,
    );
    // A task in error is reloaded by any helper change: the temporary file must not count.
    await project.writeTask("broken.ts", "export default class { oops( }\n");
    await project.start();
    // sed -i writes helpers/sedXXXXXX, then renames it over the file; here slowly enough
    // for the watcher to see the temporary file.
    const temp = path.join(project.root, "helpers", "sedK3x9Qa");
    await writeFile(temp, 'export const word = "omega";\n');
    await new Promise((resolve) => setTimeout(resolve, 150));
    await rename(temp, path.join(project.root, "helpers", "words.ts"));
    await waitFor(async () => finished(await history(project, "user")).some((r) => r.output.includes("omega")), { what: "the sed edit to apply" });
    const changed = await hostEvents(project, "helper.changed");
    expect(changed.length).toBeGreaterThan(0);
    for (const event of changed) expect(path.basename(String(event.file))).toBe("words.ts");
  });
});

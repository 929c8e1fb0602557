import { readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { finished, history } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";
import { hostEvents, spawnStart } from "./support/fault-host.ts";

/** A damaged ledger at start: refused with the file named, or started from the backup — never silently empty. */
describe("a host started on a damaged database file", () => {
  let project: TempProject;
  let db: string;
  beforeEach(async () => {
    project = await TempProject.create();
    db = path.join(project.root, "data", "scheduler.db");
  });
  afterEach(async () => {
    await project.cleanup();
  });

  /** `taskhost start` must give up on its own, saying why and naming the file. */
  async function refusedStart(): Promise<string> {
    const before = await readFile(db);
    const host = spawnStart(project);
    const code = await Promise.race([host.exited, waitFor(() => false, { timeoutMs: 30_000, what: "the host to refuse" })]);
    expect(code).not.toBe(0);
    expect(host.output()).toContain(db);
    expect(host.output()).toMatch(/not a SQLite database/);
    // Untouched, and no empty ledger took its place.
    expect(await readFile(db)).toEqual(before);
    return host.output();
  }

  it("refuses garbage or a truncated file without a backup, and starts from a good backup with the history in it", async () => {
    await project.writeTask("ticks.ts", taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("tick");' }));
    let host = await project.start();
    await waitFor(async () => finished(await history(project, "ticks")).length >= 2, { what: "runs to record" });
    expect(await host.stop()).toBe(0);
    const recorded = finished(await history(project, "ticks")); // offline: opening a good file refreshes the .bak
    const good = await readFile(db);

    // Garbage, no backup.
    await rm(`${db}.bak`);
    await writeFile(db, Buffer.from("this is not sqlite at all\n".repeat(400)));
    await refusedStart();
    // Cut to nothing, no backup.
    await truncate(db, 0);
    expect(await refusedStart()).toMatch(/empty/);

    // Truncated mid-page, with the backup a clean open leaves: started from it, with a warning.
    await writeFile(db, good);
    expect((await project.cli(["history", "ticks"])).code).toBe(0);
    await truncate(db, Math.floor(good.length / 2) + 123);
    host = await project.start();
    const runs = await history(project, "ticks");
    for (const run of recorded) expect(runs.map((r) => r.id)).toContain(run.id);
    const warning = await waitFor(async () => (await hostEvents(project, "store.warning"))[0], { what: "the store warning" });
    expect(String(warning.msg)).toContain(`${db}.bak`);
    expect((await readdir(path.join(project.root, "data"))).some((n) => n.startsWith("scheduler.db.corrupt-"))).toBe(true);
    // And it goes on recording.
    const resumedAt = Date.now();
    await waitFor(async () => (await history(project, "ticks")).some((r) => r.status === "success" && Date.parse(r.startedAt!) > resumedAt), {
      what: "a run after the recovery",
    });
    await host.stop();

    // Damaged with a damaged backup: refused, saying the backup is damaged too.
    await writeFile(`${db}.bak`, "more garbage");
    await writeFile(db, "garbage");
    expect(await refusedStart()).toContain(`${db}.bak is damaged too`);
  });
});

/**
 * An Error a task logs (log.error, logTaskError, a workflow step's failure) reads
 * like the error a run throws: without the frames of taskhost's entry file or
 * the event loop under it, paths from the project root — at every level.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { IsolateKit, taskSource } from "./support/isolate-kit.ts";
import type { Isolation } from "../runtime/scheduler/run-launcher.ts";

const PRELUDE = `import { log, logTaskError } from "taskhost/helpers";\n`;
const BODY = `
  function inner() { return new Error("boom", { cause: new Error("deeper") }); }
  const error = inner();
  log.error("failed:", error);
  logTaskError(error, "again");
`;

let kit: IsolateKit;
let bundle: string;

beforeAll(async () => {
  kit = await IsolateKit.create();
  bundle = await kit.bundle("stacks", taskSource(BODY, PRELUDE));
}, 60_000);

afterAll(async () => {
  await kit?.dispose();
});

it.each<Isolation>(["context", "task", "worker"])("under %s, a logged error's stack has the task's frames only", async (isolation) => {
  const launcher = kit.launcher({});
  try {
    const run = kit.run(launcher, bundle, { isolation });
    expect(await run.outcome).toMatchObject({ status: "success" });
    const text = run.text();
    expect(text).toContain("failed: Error: boom");
    expect(text).toContain("task error (again): Error: boom");
    expect(text).toContain("Caused by: Error: deeper");
    expect(text).toMatch(/at inner \(/);
    expect(text).not.toMatch(/(isolate|worker)-entry-[0-9a-f]+\.mjs/);
    expect(text).not.toContain(`${kit.root}/`);
  } finally {
    await launcher.close();
  }
});

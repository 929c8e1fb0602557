/**
 * What a task prints (console.log, console.error, process.stdout.write) and
 * what it logs through ctx.log reach the host in the order they were written,
 * under every isolation level: a worker's own stdio travels apart from its
 * messages, and a console line used to arrive after the ctx.log lines around it.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { IsolateKit, taskSource } from "./support/isolate-kit.ts";

const ORDER = taskSource(`
  ctx.log.info("1 ctx");
  console.log("2 console");
  ctx.log.info("3 ctx");
  console.error("4 console.error");
  process.stdout.write("5 wr");
  process.stdout.write(Buffer.from([0x69, 0x74, 0x65, 0x20, 0xc3]));
  process.stdout.write(Buffer.from([0xa9, 0x0a]));
  ctx.log.warn("6 ctx");
  await new Promise((r) => setTimeout(r, 20));
  console.log("7 console after a wait");
  ctx.log.info("8 ctx");
  for (let i = 0; i < 1000; i++) console.log("flood " + i);
  ctx.log.info("9 ctx after the flood");
`);

let kit: IsolateKit;
let bundle: string;

beforeAll(async () => {
  kit = await IsolateKit.create();
  bundle = await kit.bundle("order", ORDER);
}, 60_000);

afterAll(async () => {
  await kit?.dispose();
});

it.each(["context", "task", "worker"] as const)("%s: console and ctx.log lines keep the order they were written in", async (isolation) => {
  const launcher = kit.launcher({ maxConcurrentRuns: 2 });
  try {
    const run = kit.run(launcher, bundle, { isolation });
    const outcome = await run.outcome;
    expect(outcome.status, outcome.error ?? "").toBe("success");
    const lines = run.lines.filter((l) => !l.line.startsWith("flood "));
    expect(lines).toEqual([
      { level: "info", line: "1 ctx" },
      { level: "info", line: "2 console" },
      { level: "info", line: "3 ctx" },
      { level: "warn", line: "4 console.error" },
      { level: "info", line: "5 write é" },
      { level: "warn", line: "6 ctx" },
      { level: "info", line: "7 console after a wait" },
      { level: "info", line: "8 ctx" },
      { level: "info", line: "9 ctx after the flood" },
    ]);
    const flood = run.lines.map((l) => l.line).filter((l) => l.startsWith("flood "));
    expect(flood).toHaveLength(1000);
    expect(run.lines.findIndex((l) => l.line === "flood 999")).toBeLessThan(run.lines.findIndex((l) => l.line === "9 ctx after the flood"));
  } finally {
    await launcher.close();
  }
}, 60_000);

/** The job every system runs: the same trivial body, one source file per job. */

/** A clock-aligned period every system can express: taskhost's `every`, and the 6-field cron Bree and croner get. */
export interface Period {
  ms: number;
  every: TaskhostEvery;
  cron: string;
}
export type TaskhostEvery = "every(1).seconds" | "every(5).seconds" | "every(1).minute";
export const EVERY_SECOND: Period = { ms: 1000, every: "every(1).seconds", cron: "* * * * * *" };
export const EVERY_5_SECONDS: Period = { ms: 5000, every: "every(5).seconds", cron: "*/5 * * * * *" };
export const EVERY_MINUTE: Period = { ms: 60_000, every: "every(1).minute", cron: "0 * * * * *" };

/** Valid JS and (untyped-checked, esbuild-bundled) TS alike. */
export const jobBody = (i: number) => `globalThis.benchJob = ${i};`;

/** A taskhost task file. `catch_up: skip` so a restart does not start with a burst of catch-up runs. */
export function taskhostTask(i: number, schedule: TaskhostEvery, body = jobBody(i)): string {
  return `/*
---
catch_up: skip
---
*/
import { repeat, every } from "taskhost";
export default class {
  @repeat(${schedule})
  async start() { ${body} }
}
`;
}

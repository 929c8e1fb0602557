/** The job every system runs: the same trivial body, one source file per job. */

/** Valid JS and (untyped-checked, esbuild-bundled) TS alike. */
export const jobBody = (i: number) => `globalThis.benchJob = ${i};`;

/** A taskhost task file. `catch_up: skip` so a restart does not start with a burst of catch-up runs. */
export function taskhostTask(i: number, schedule: "second" | "minute"): string {
  return `/*
---
catch_up: skip
---
*/
import { repeat, every } from "taskhost";
export default class {
  @repeat(every(1).${schedule})
  async start() { ${jobBody(i)} }
}
`;
}

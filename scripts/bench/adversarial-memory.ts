/**
 * Issue 10.5: `memory_limit` holds a run's Buffers and ArrayBuffers as well as its
 * heap, and a run past it ends alone: the host does not restart, and another
 * task's runs go on. Each hog runs by hand while a ticking task runs every second.
 */
import { finished, history, status } from "../../tests/support/history.ts";
import { taskSource } from "../../tests/support/task-sources.ts";
import { waitFor } from "../../tests/support/wait-for.ts";
import { inProject, type Scenario } from "./adversarial-support.ts";
import { rssMb } from "./measure.ts";

const HOGS: Record<string, string> = {
  buffers: "const keep: Buffer[] = []; for (;;) { keep.push(Buffer.alloc(50 * 1024 * 1024, 1)); await new Promise((r) => setTimeout(r, 20)); }",
  "array-buffers": "const keep: ArrayBuffer[] = []; for (;;) { const b = new ArrayBuffer(50 * 1024 * 1024); new Uint8Array(b).fill(1); keep.push(b); await new Promise((r) => setTimeout(r, 20)); }",
  heap: "const keep: number[][] = []; for (;;) { keep.push(new Array(1e6).fill(1.5)); if (keep.length % 10 === 0) await new Promise((r) => setTimeout(r, 0)); }",
};

export const memoryHogs: Scenario = {
  item: "5",
  attack: "runs eating memory past memory_limit",
  run: () =>
    inProject({ scheduler: { memory_check_interval: 1 } }, async (project) => {
      for (const [name, body] of Object.entries(HOGS)) {
        await project.writeTask(`hog-${name}.ts`, taskSource({ schedule: "every(10).minutes", body, frontmatter: { memory_limit: 128, timeout: 60 } }));
      }
      await project.writeTask("tick.ts", taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("tick");' }));
      const host = await project.start();
      const hostPid = await host.hostPid();
      let peakMb = 0;
      const sampler = setInterval(() => void rssMb(hostPid).then((mb) => (peakMb = Math.max(peakMb, mb))), 100);
      const outcomes: string[] = [];
      let contained = 0;
      try {
        for (const name of Object.keys(HOGS)) {
          const id = `hog-${name}`;
          await project.cli(["run", id], 120_000);
          const run = await waitFor(async () => finished(await history(project, id)).find((r) => r.trigger === "manual"), { timeoutMs: 60_000, what: `the run of ${id}` });
          const ticksAfter = Date.now();
          await waitFor(async () => finished(await history(project, "tick")).some((r) => Date.parse(r.startedAt!) > ticksAfter), { timeoutMs: 30_000, what: "ticks after the hog" });
          const report = await status(project);
          const alone = run.status === "failure" && /memory/i.test(run.error ?? "") && report.host.restarts === 0 && (await host.hostPid()) === hostPid;
          if (alone) contained++;
          outcomes.push(`${name}: ${run.status}${alone ? "" : ` (${run.error?.slice(0, 80)}; restarts ${report.host.restarts})`}`);
        }
      } finally {
        clearInterval(sampler);
      }
      await host.stop();
      return [
        {
          item: "5",
          attack: "runs allocating 50 MB Buffers, ArrayBuffers, heap arrays (memory_limit 128 MB)",
          refused: { ok: contained, of: Object.keys(HOGS).length },
          held: contained === Object.keys(HOGS).length,
          measured: `each ended alone as a failed run naming memory, host not restarted: ${outcomes.join("; ")}; host process peak ${peakMb.toFixed(0)} MB`,
        },
      ];
    }),
};

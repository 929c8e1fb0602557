import { TempProject } from "./tests/support/temp-project.ts";
import { taskhostTask, EVERY_SECOND } from "./scripts/bench/jobs.ts";
import { startHost } from "./runtime/host/start-host.ts";
import path from "node:path";
const jobs = 100;
const project = await TempProject.create({ scheduler: { max_concurrent_runs: 16 } });
try {
  for (let i = 0; i < jobs; i++) await project.writeTask(`b${i}.ts`, taskhostTask(i, EVERY_SECOND.every));
  const host = await startHost({ projectRoot: project.root, configPath: path.join(project.root, "config", "config.yaml") } as any);
  const t0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, 15_000));
  const cpu = process.cpuUsage(t0);
  console.log("process CPU over 15 s (all threads):", ((cpu.user + cpu.system) / 1e6).toFixed(1), "s");
  await host.stop();
  const { readLedger } = await import("./tests/support/fault-host.ts");
  const ledger = await readLedger(project);
  const byStatus: Record<string, number> = {};
  for (const r of ledger.runs) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  console.log(JSON.stringify(byStatus));
} finally { await project.cleanup(); }

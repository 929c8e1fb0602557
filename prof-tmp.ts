import { IsolateKit, taskSource } from "./tests/support/isolate-kit.ts";
const kit = await IsolateKit.create();
const bundles = await Promise.all(Array.from({ length: 16 }, (_, i) => kit.bundle(`p${i}`, taskSource(`globalThis.x = ${i};`))));
const launcher = kit.launcher({ maxConcurrentRuns: 16 });
for (const iso of ["context", "task"] as const) {
  await Promise.all(bundles.map((b, i) => kit.run(launcher, b, { isolation: iso, task: `p${i}` }).outcome));
  const N = 800; let next = 0;
  const c = process.cpuUsage(); const t = performance.now();
  await Promise.all(Array.from({ length: 16 }, async (_, lane) => { while (next < N) { next++; const o = await kit.run(launcher, bundles[lane]!, { isolation: iso, task: `p${lane}` }).outcome; if (o.status !== "success") console.log(o.error); } }));
  const d = process.cpuUsage(c);
  console.log(iso, "cpu/run ms", ((d.user + d.system) / 1000 / N).toFixed(2), "wall/run", ((performance.now() - t) / N).toFixed(2), JSON.stringify(launcher.workers()));
}
await launcher.close(); await kit.dispose();

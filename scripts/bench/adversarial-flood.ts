/**
 * What held in issue 10 and must keep holding: flooding. Many tasks every 2 s,
 * while the dashboard holds many event-stream clients and half-open connections;
 * `/healthz` must keep answering quickly, and every execution (the tasks' own
 * markers) is recorded once. "Refused" counts the /healthz probes answered.
 */
import http from "node:http";
import net from "node:net";
import { countAgainstLedger, makeMarkersDir, markerTask, readMarkers } from "../../tests/support/execution-markers.ts";
import { hostEvents } from "../../tests/support/fault-host.ts";
import { status } from "../../tests/support/history.ts";
import { waitFor } from "../../tests/support/wait-for.ts";
import { inProject, ledgerAfterKill, type Scenario } from "./adversarial-support.ts";
import { percentile, sleep } from "./measure.ts";

const TOKEN = "flood-token-0123456789";

/** One GET /healthz: its time in ms, or Infinity when it did not answer 200 within 5 s. */
function healthz(base: URL): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.get({ host: base.hostname, port: base.port, path: "/healthz", agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode === 200 ? performance.now() - t0 : Infinity));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(Infinity));
  });
}

export const flood: Scenario = {
  item: "kept",
  attack: "flooding",
  run: (quick) =>
    inProject({ dashboard: { enabled: true, port: 0, token: TOKEN }, scheduler: { max_concurrent_runs: 16 } }, async (project) => {
      const tasks = quick ? 50 : 200;
      const streams = quick ? 30 : 200;
      const halfOpen = quick ? 100 : 1000;
      const windowMs = quick ? 10_000 : 30_000;
      await makeMarkersDir(project.root);
      for (let i = 0; i < tasks; i++) await project.writeTask(`flood-${i}.ts`, markerTask("every(2).seconds", "", "/*\n---\ncatch_up: skip\n---\n*/\n"));
      const host = await project.start();
      await waitFor(async () => (await status(project)).tasks.filter((t) => t.state === "scheduled").length === tasks, { timeoutMs: 300_000, what: `${tasks} tasks loaded` });
      const base = new URL(String((await hostEvents(project, "dashboard.start"))[0]!.url));
      const quiet: number[] = [];
      for (let i = 0; i < 20; i++) quiet.push(await healthz(base));
      // The flood: event-stream clients and connections that never finish their request.
      const sockets: net.Socket[] = [];
      const requests: http.ClientRequest[] = [];
      for (let i = 0; i < streams; i++) {
        const req = http.get({ host: base.hostname, port: base.port, path: "/api/events", headers: { Authorization: `Bearer ${TOKEN}` }, agent: false }, (res) => res.resume());
        req.on("error", () => {});
        requests.push(req);
      }
      for (let i = 0; i < halfOpen; i++) {
        const socket = net.connect(Number(base.port), base.hostname, () => socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
        socket.on("error", () => {});
        sockets.push(socket);
      }
      const markersBefore = (await readMarkers(project.root)).length;
      const during: number[] = [];
      const until = Date.now() + windowMs;
      while (Date.now() < until) {
        during.push(await healthz(base));
        await sleep(100);
      }
      for (const req of requests) req.destroy();
      for (const socket of sockets) socket.destroy();
      const executed = (await readMarkers(project.root)).length - markersBefore;
      await host.stop();
      const ledger = await ledgerAfterKill(project);
      const { unrecorded, doubled } = countAgainstLedger(await readMarkers(project.root), ledger.runs);
      const sorted = [...during].sort((a, b) => a - b);
      const before = percentile([...quiet].sort((a, b) => a - b), 50);
      const answered = during.filter((ms) => Number.isFinite(ms)).length;
      // Not slowed: the typical answer under the flood within twice the one before it (the machine's own load aside).
      const notSlowed = percentile(sorted, 50) <= 2 * before + 100;
      const expected = (tasks * windowMs) / 2000;
      return [
        {
          item: "kept",
          attack: `${tasks} tasks every 2 s, ${streams} event-stream clients, ${halfOpen} half-open connections`,
          doubled: doubled.length,
          unrecorded: unrecorded.length,
          refused: { ok: answered, of: during.length },
          held: answered === during.length && notSlowed && doubled.length === 0 && unrecorded.length === 0,
          measured:
            `/healthz p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms, max ${Math.max(...during).toFixed(0)} ms under the flood ` +
            `(p50 ${before.toFixed(0)} ms before); ${during.length - answered} of ${during.length} unanswered in 5 s; ${executed} executions in ${windowMs / 1000} s (${expected} due)`,
        },
      ];
    }),
};

/**
 * Issue 10.6: every dashboard route has a request body limit, answered before the
 * body is read, login included: 300 MB bodies (declared or chunked, two at once),
 * a large body on a signed-in route. The host's memory must not follow them.
 */
import { startDashboardHost, TOKEN } from "../../tests/support/dashboard-host.ts";
import { status } from "../../tests/support/history.ts";
import { floodBody } from "./adversarial-http.ts";
import type { Scenario } from "./adversarial-support.ts";
import { rssMb } from "./measure.ts";

export const dashboardBodies: Scenario = {
  item: "6",
  attack: "oversized request bodies",
  run: async (quick) => {
    const d = await startDashboardHost();
    try {
      const hostPid = await d.host.hostPid();
      const before = await rssMb(hostPid);
      let peak = before;
      const sampler = setInterval(() => void rssMb(hostPid).then((mb) => (peak = Math.max(peak, mb))), 100);
      const big = quick ? 100 : 300;
      // 0: the server hung up before the client could read its 413 (it writes the answer, then closes); refused all the same.
      const attacks: Array<[string, () => Promise<{ status: number; sentMb: number }>, number[]]> = [
        [`login, Content-Length ${big} MB`, () => floodBody(d.base, "/api/login", big, { chunked: false }), [413, 0]],
        [`login, ${big} MB chunked`, () => floodBody(d.base, "/api/login", big, { chunked: true }), [413, 0]],
        [`pause without a token, ${big} MB chunked`, () => floodBody(d.base, "/api/tasks/ticker/pause", big, { chunked: true }), [401, 413, 0]],
        ["run with the token, 2 MB", () => floodBody(d.base, "/api/tasks/ticker/run", 2, { chunked: false, headers: { Authorization: `Bearer ${TOKEN}` } }), [413, 0]],
      ];
      const outcomes: string[] = [];
      let refused = 0;
      try {
        for (const [what, attack, expected] of attacks) {
          const { status: code, sentMb } = await attack();
          const ok = expected.includes(code) && sentMb < big;
          if (ok) refused++;
          outcomes.push(`${what}: ${code || "hung up"} after ${sentMb} MB`);
        }
        // Two at once, as in the issue.
        const pair = await Promise.all([0, 1].map(() => floodBody(d.base, "/api/login", big, { chunked: true })));
        const ok = pair.every((r) => (r.status === 413 || r.status === 0) && r.sentMb < big);
        if (ok) refused++;
        outcomes.push(`two ${big} MB logins at once: ${pair.map((r) => `${r.status || "hung up"} after ${r.sentMb} MB`).join(", ")}`);
      } finally {
        clearInterval(sampler);
      }
      const report = await status(d.project);
      const grewMb = peak - before;
      return [
        {
          item: "6",
          attack: `request bodies up to ${big} MB on login and API routes`,
          refused: { ok: refused, of: attacks.length + 1 },
          held: refused === attacks.length + 1 && grewMb < 100 && report.host.restarts === 0,
          measured: `${outcomes.join("; ")}; host RSS ${before.toFixed(0)} → peak ${peak.toFixed(0)} MB, restarts ${report.host.restarts}`,
        },
      ];
    } finally {
      await d.project.cleanup();
    }
  },
};

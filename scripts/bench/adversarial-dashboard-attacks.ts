/**
 * What held in issue 10 and must keep holding: the dashboard refuses requests
 * without the token or with a wrong one, cross-site requests riding on a session
 * cookie, and paths that try to climb out of it. A canary in config/secrets.yaml
 * and the system's passwd file must never come back.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { startDashboardHost, TOKEN } from "../../tests/support/dashboard-host.ts";
import { status } from "../../tests/support/history.ts";
import { rawRequest, type Answer } from "./adversarial-http.ts";
import type { Scenario } from "./adversarial-support.ts";

const CANARY = "canary-secret-5d1e0b";
const EVIL = "http://evil.example";

interface Attack {
  what: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** The answers that refuse it. */
  refusedWith: number[];
}

export const dashboardAttacks: Scenario = {
  item: "kept",
  attack: "dashboard: no token, wrong token, cross-site, traversal",
  run: async () => {
    const d = await startDashboardHost();
    try {
      await writeFile(path.join(d.project.root, "config", "secrets.yaml"), `api_key: ${CANARY}\n`, { mode: 0o600 });
      const port = new URL(d.base).port;
      const login = await rawRequest(d.base, "POST", "/api/login", { "Content-Type": "application/json" }, JSON.stringify({ token: TOKEN }));
      const cookie = String(login.headers["set-cookie"]?.[0] ?? "").split(";")[0]!;
      const json = { "Content-Type": "application/json" };
      const bearer = { Authorization: `Bearer ${TOKEN}` };
      const attacks: Attack[] = [
        { what: "status without a token", method: "GET", path: "/api/status", refusedWith: [401] },
        { what: "status with a wrong token", method: "GET", path: "/api/status", headers: { Authorization: "Bearer wrong" }, refusedWith: [401] },
        { what: "a wrong token beside a good cookie", method: "GET", path: "/api/status", headers: { Authorization: "Bearer wrong", Cookie: cookie }, refusedWith: [401] },
        { what: "a forged session cookie", method: "GET", path: "/api/status", headers: { Cookie: `taskhost_session_${port}=99999999999999.forged` }, refusedWith: [401] },
        { what: "the event stream without a token", method: "GET", path: "/api/events", refusedWith: [401] },
        { what: "a run without a token", method: "POST", path: "/api/tasks/ticker/run", refusedWith: [401] },
        { what: "login with a wrong token", method: "POST", path: "/api/login", headers: json, body: JSON.stringify({ token: "guess" }), refusedWith: [401] },
        { what: "login from another origin", method: "POST", path: "/api/login", headers: { ...json, Origin: EVIL }, body: JSON.stringify({ token: TOKEN }), refusedWith: [403] },
        { what: "login from a cross-site page", method: "POST", path: "/api/login", headers: { ...json, "Sec-Fetch-Site": "cross-site" }, body: JSON.stringify({ token: TOKEN }), refusedWith: [403] },
        { what: "pause on the cookie from another origin", method: "POST", path: "/api/tasks/ticker/pause", headers: { Cookie: cookie, Origin: EVIL }, refusedWith: [403] },
        { what: "pause on the cookie with no Origin", method: "POST", path: "/api/tasks/ticker/pause", headers: { Cookie: cookie }, refusedWith: [403] },
        { what: "pause on the cookie from Origin null", method: "POST", path: "/api/tasks/ticker/pause", headers: { Cookie: cookie, Origin: "null" }, refusedWith: [403] },
        { what: "pause on the cookie from a same-site page", method: "POST", path: "/api/tasks/ticker/pause", headers: { Cookie: cookie, "Sec-Fetch-Site": "same-site" }, refusedWith: [403] },
        { what: "logout from another origin", method: "POST", path: "/api/logout", headers: { Cookie: cookie, Origin: EVIL }, refusedWith: [403] },
      ];
      const climbs = [
        "/../config/secrets.yaml",
        "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/style.css/../../config/secrets.yaml",
        "/..%2f..%2fconfig%2fsecrets.yaml",
        "/..%5c..%5cconfig%5csecrets.yaml",
        "//etc/passwd",
        "/favicon.svg%00/../../config/secrets.yaml",
        "/api/tasks/..%2F..%2Fconfig%2Fsecrets",
        "/api/tasks/../../../../etc/passwd",
        "/api/runs/1%2F..%2F..%2Fetc%2Fpasswd",
      ];
      for (const climb of climbs) {
        attacks.push({ what: `${climb} without a token`, method: "GET", path: climb, refusedWith: [400, 401, 404] });
        attacks.push({ what: `${climb} with the token`, method: "GET", path: climb, headers: bearer, refusedWith: [400, 404, 405] });
      }
      const failed: string[] = [];
      for (const attack of attacks) {
        let answer: Answer;
        try {
          answer = await rawRequest(d.base, attack.method, attack.path, attack.headers, attack.body);
        } catch (error) {
          failed.push(`${attack.what}: ${String(error)}`);
          continue;
        }
        const leaked = answer.body.includes(CANARY) || answer.body.includes("root:x:0:0") || answer.body.includes(TOKEN);
        if (leaked || !attack.refusedWith.includes(answer.status)) failed.push(`${attack.what}: ${answer.status}${leaked ? " with a secret" : ""}`);
      }
      // Nothing the refused requests asked for happened.
      const ticker = (await status(d.project)).tasks.find((t) => t.id === "ticker");
      if (ticker?.state === "paused") failed.push("the ticker got paused");
      const refused = attacks.length - failed.filter((f) => !f.startsWith("the ticker")).length;
      return [
        {
          item: "kept",
          attack: `dashboard: ${attacks.length} requests without or with a wrong token, cross-site on a cookie, climbing paths`,
          refused: { ok: refused, of: attacks.length },
          held: failed.length === 0 && login.status === 200 && cookie !== "",
          measured: failed.length ? `let through: ${failed.slice(0, 4).join("; ")}` : `every one refused (401/403/404), no secret in any answer; the signed-in login worked (${login.status})`,
        },
      ];
    } finally {
      await d.project.cleanup();
    }
  },
};

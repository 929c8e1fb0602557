import { existsSync } from "node:fs";
import { readFile, symlink } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDashboardHost, TOKEN, type DashboardHost } from "./support/dashboard-host.ts";
import { writeScripts } from "./support/scripts.ts";
import { waitFor } from "./support/wait-for.ts";
import type { StatusJson } from "../runtime/host/report-shapes.ts";

const bearer = { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" };

describe("the authoring API: token, same-origin and paths", () => {
  let d: DashboardHost;
  const call = (method: string, route: string, body?: unknown, headers: Record<string, string> = bearer) =>
    fetch(d.base + route, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = async (response: Promise<Response> | Response): Promise<any> => (await response).json();

  beforeAll(async () => {
    d = await startDashboardHost({});
    await writeScripts(d.project);
  });
  afterAll(async () => {
    await d?.project.cleanup();
  });

  it("needs the token on every route, and a cookie POST from the dashboard's own page", async () => {
    for (const [method, route] of [["GET", "/api/authoring/scripts"], ["POST", "/api/authoring/preview"], ["POST", "/api/authoring/tasks"], ["GET", "/api/authoring/task?id=x"], ["POST", "/api/authoring/task/edit?id=x"], ["POST", "/api/authoring/task/delete?id=x"], ["GET", "/api/authoring/trash"], ["POST", "/api/authoring/trash/restore"], ["GET", "/api/timeline?from=0&to=1"], ["GET", "/new-task.js"], ["GET", "/timeline.js"]]) {
      expect((await call(method!, route!, method === "POST" ? {} : undefined, { "Content-Type": "application/json" })).status, route).toBe(401);
    }
    // The pages themselves answer with the login form.
    expect(await (await fetch(`${d.base}/new`)).text()).toContain('id="login"');
    const login = await fetch(`${d.base}/api/login`, { method: "POST", headers: { Origin: d.base, "Content-Type": "application/json" }, body: JSON.stringify({ token: TOKEN }) });
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    const form = { id: "csrf", script: "scripts/hello.sh", every: "hour" };
    const foreign = await call("POST", "/api/authoring/tasks", form, { Cookie: cookie, Origin: "https://evil.example", "Content-Type": "application/json" });
    expect(foreign.status).toBe(403);
    expect((await call("POST", "/api/authoring/tasks", form, { Cookie: cookie, "Content-Type": "application/json" })).status).toBe(403);
    expect(existsSync(path.join(d.project.root, "tasks", "csrf.ts"))).toBe(false);
    const own = await call("POST", "/api/authoring/tasks", form, { Cookie: cookie, Origin: d.base, "Content-Type": "application/json" });
    expect(own.status).toBe(201);
    expect(await (await fetch(`${d.base}/new`, { headers: { Cookie: cookie } })).text()).toContain("/new-task.js");
  });

  it("writes only inside tasks/ and takes scripts only from the allowed folders", async () => {
    await symlink(path.join(d.project.root, "config"), path.join(d.project.root, "tasks", "linked"));
    const refused = async (form: Record<string, unknown>) => {
      const response = await call("POST", "/api/authoring/tasks", form);
      return { status: response.status, ...((await response.json()) as { code: string; field?: string; error: string }) };
    };
    expect(await refused({ id: "../../config/evil", script: "scripts/hello.sh" })).toMatchObject({ status: 400, field: "id" });
    expect(await refused({ id: "linked/evil", script: "scripts/hello.sh" })).toMatchObject({ status: 400, code: "ERR_TASK_OUTSIDE_DIR" });
    expect(await refused({ id: "ok", script: "../../../etc/passwd" })).toMatchObject({ status: 400, field: "script" });
    expect(await refused({ id: "ok", script: "config/config.yaml" })).toMatchObject({ status: 400, field: "script" });
    expect(await refused({ id: "ok", script: "scripts/hello.sh", cron: "0 0 31 2 * extra" })).toMatchObject({ status: 400, field: "schedule" });
    expect(existsSync(path.join(d.project.root, "config", "evil.ts"))).toBe(false);
    expect((await call("GET", "/api/authoring/task?id=..%2F..%2Fconfig%2Fconfig")).status).toBe(400);
    expect((await call("POST", "/api/authoring/trash/restore", { name: "../../config/config.yaml" })).status).toBe(404);
    expect((await call("POST", "/api/authoring/tasks", "not an object")).status).toBe(400);
  });

  it("creates, edits with a version, deletes and restores; the host follows each change", async () => {
    const status = async () => (await (await call("GET", "/api/status")).json()) as StatusJson;
    const created = await json(call("POST", "/api/authoring/tasks", { id: "reports/py", script: "scripts/hello.py", cron: "0 6 * * *", timezone: "Europe/Paris" }));
    await waitFor(async () => (await status()).tasks.find((t) => t.id === "reports/py")?.schedules[0]?.spec.endsWith("(cron 0 6 * * *)"), { what: "the new task loaded" });
    const stale = created.version;
    const edited = await call("POST", "/api/authoring/task/edit?id=reports%2Fpy", { version: stale, fields: { timeout: 45 }, schedules: { run: "every(15).minutes" } });
    expect(edited.status).toBe(200);
    await waitFor(async () => (await status()).tasks.find((t) => t.id === "reports/py")?.schedules[0]?.spec === "every 15 minutes", { what: "the edit loaded" });
    const conflict = await call("POST", "/api/authoring/task/edit?id=reports%2Fpy", { version: stale, fields: { timeout: 50 } });
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toMatchObject({ code: "ERR_CONFLICT" });
    const bad = await call("POST", "/api/authoring/task/edit?id=reports%2Fpy", { version: (await json(edited)).version, fields: { overlap: "sometimes" } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: "ERR_TASK_FRONTMATTER", field: "overlap", error: expect.stringContaining("one of skip, queue, allow, replace") });
    expect(await readFile(path.join(d.project.root, "tasks", "reports", "py.ts"), "utf8")).toContain("timeout: 45");

    const current = await json(call("GET", "/api/authoring/task?id=reports%2Fpy"));
    const trashed = await json(call("POST", "/api/authoring/task/delete?id=reports%2Fpy", { version: current.version }));
    await waitFor(async () => !(await status()).tasks.some((t) => t.id === "reports/py"), { what: "the deleted task unloaded" });
    expect((await json(call("GET", "/api/authoring/trash"))).map((t: { name: string }) => t.name)).toContain(trashed.name);
    expect((await call("POST", "/api/authoring/trash/restore", { name: trashed.name })).status).toBe(200);
    await waitFor(async () => (await status()).tasks.find((t) => t.id === "reports/py")?.state === "scheduled", { what: "the restored task loaded" });
  });
});

import { createServer, type Server } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hostEvents } from "./support/fault-host.ts";
import { TempProject } from "./support/temp-project.ts";
import { waitFor } from "./support/wait-for.ts";
import { readHostLog } from "./support/host-log.ts";

// Issue 11.15: `dashboard.port: 0` keeps the port it picked across restarts (sessions
// survive), and a token too short to be one is refused, naming the key.

async function dashboardStarts(project: TempProject): Promise<number[]> {
  const text = await readHostLog(project.root);
  return text
    .split("\n")
    .filter((line) => line.includes('"event":"dashboard.start"'))
    .map((line) => (JSON.parse(line) as { port: number }).port);
}

describe("dashboard port and token", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create({ dashboard: { enabled: true, port: 0, token: "test-token-0123456789" } });
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("port 0 picks a port once and keeps it across restarts", async () => {
    await project.start();
    const [first] = await waitFor(() => dashboardStarts(project).then((ports) => (ports.length ? ports : null)), { what: "dashboard.start" });
    const restart = await project.cli(["restart"]);
    expect(restart.code, restart.stderr).toBe(0);
    const ports = await waitFor(() => dashboardStarts(project).then((p) => (p.length >= 2 ? p : null)), { what: "the second dashboard.start" });
    expect(ports[1]).toBe(first);
  });

  it("follows config edits live: metrics switched on, another port, a port in use refused (the old one stays), both off", async () => {
    const TOKEN = "test-token-0123456789";
    const METRICS = "metrics-token-0123456789";
    await project.start();
    const [first] = await waitFor(() => dashboardStarts(project).then((ports) => (ports.length ? ports : null)), { what: "dashboard.start" });
    const at = (port: number, route: string, token = TOKEN) => fetch(`http://127.0.0.1:${port}${route}`, { headers: { authorization: `Bearer ${token}` } });
    const reloads = async (n: number) => waitFor(async () => (await hostEvents(project, "config.reloaded")).length >= n, { what: `config.reloaded #${n}` });
    expect((await at(first!, "/metrics", METRICS)).status).not.toBe(200);

    // metrics.enabled: served at once, on the port it had (port 0 keeps its port).
    await project.writeConfig({ dashboard: { enabled: true, port: 0, token: TOKEN }, metrics: { enabled: true, token: METRICS } });
    await reloads(1);
    const scraped = await at(first!, "/metrics", METRICS);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain("taskhost_");

    // Another port: the new server listens, the old one is closed.
    const other = await freePort();
    await project.writeConfig({ dashboard: { enabled: true, port: other, token: TOKEN }, metrics: { enabled: true, token: METRICS } });
    await reloads(2);
    expect((await at(other, "/healthz")).status).toBe(200);
    await expect(at(first!, "/healthz")).rejects.toThrow();

    // A port in use: refused, naming the key; the server stays where it was.
    const blocker = await listening();
    try {
      const busy = (blocker.address() as { port: number }).port;
      await project.writeConfig({ dashboard: { enabled: true, port: busy, token: TOKEN }, metrics: { enabled: true, token: METRICS } });
      const rejected = await waitFor(async () => (await hostEvents(project, "config.rejected"))[0], { what: "config.rejected" });
      expect(String(rejected.error)).toMatch(/dashboard\.port: .*port \d+ is in use/);
      expect((await at(other, "/metrics", METRICS)).status).toBe(200);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }

    // Both off: nothing listens, and the host goes on.
    await project.writeConfig({ dashboard: { enabled: false, port: other, token: TOKEN }, metrics: { enabled: false } });
    await reloads(3);
    await expect(at(other, "/healthz")).rejects.toThrow();
    expect((await project.cli(["status"])).code).toBe(0);
  });

  it("refuses a one-character token at start, naming the key", async () => {
    await project.writeConfig({ dashboard: { enabled: true, port: 0, token: "x" } });
    const result = await project.cli(["start"], 30_000);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/config\/config\.yaml:\d+: .*dashboard\.token is 1 character\(s\); use at least 16/);
  });
});

function listening(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

async function freePort(): Promise<number> {
  const server = await listening();
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

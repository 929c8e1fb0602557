import { afterEach, beforeEach, describe, expect, it } from "vitest";
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

  it("refuses a one-character token at start, naming the key", async () => {
    await project.writeConfig({ dashboard: { enabled: true, port: 0, token: "x" } });
    const result = await project.cli(["start"], 30_000);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/config\/config\.yaml:\d+: .*dashboard\.token is 1 character\(s\); use at least 16/);
  });
});

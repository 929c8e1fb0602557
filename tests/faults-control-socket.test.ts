import { createHash } from "node:crypto";
import { existsSync, lstatSync } from "node:fs";
import { chown, mkdir, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { callHost } from "../runtime/cli/control-client.ts";
import { hostFiles } from "../runtime/host/host-files.ts";
import type { StatusJson } from "../runtime/host/report-shapes.ts";
import { TempProject } from "./support/temp-project.ts";
import { spawnStart, type Proc } from "./support/fault-host.ts";
import { waitFor } from "./support/wait-for.ts";

/** Where a host with a long data path used to put its socket: a name anyone can compute, in a folder anyone can write. */
function oldFallback(dataDir: string): string {
  return path.join(os.tmpdir(), `taskhost-${createHash("sha1").update(dataDir).digest("hex").slice(0, 16)}.sock`);
}

/** Another user's listener at that name: it answers `status` with a task of its own and counts who came. */
async function squat(socketPath: string): Promise<{ connections: () => number; close: () => Promise<void> }> {
  await rm(socketPath, { force: true });
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    socket.on("data", () =>
      socket.end(`${JSON.stringify({ id: 1, result: { host: { running: true, pid: 4242, uptimeSec: 1, rssMb: 1, restarts: 0 }, tasks: [{ id: "planted" }] } })}\n`),
    );
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return { connections: () => connections, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Issue 10.7: the control socket cannot be squatted. */
describe("the control socket", () => {
  let project: TempProject;
  const procs: Proc[] = [];
  afterEach(async () => {
    for (const proc of procs.splice(0)) await proc.kill9();
    await project.cleanup();
  });

  it("lives in a private folder beside a deep ledger, never at a guessable name in /tmp", async () => {
    const deep = `${"deep-".repeat(12)}/${"er-".repeat(12)}`;
    project = await TempProject.create({ database: { path: `${deep}/scheduler.db` } });
    const dataDir = path.join(project.root, deep);
    const files = hostFiles(dataDir);
    const squatter = await squat(oldFallback(dataDir));
    try {
      // With no host, a command must not take the squatter's word for one.
      const offline = JSON.parse((await project.cli(["status", "--json"])).stdout) as StatusJson;
      expect(offline.host.running).toBe(false);
      expect(files.socket.length).toBeGreaterThan(108);

      const host = spawnStart(project);
      procs.push(host);
      const report = await waitFor(() => callHost<StatusJson>(files.socket, "status", {}, 5000), { timeoutMs: 30_000, what: "the host to answer" });
      expect(report.host.pid).toBe(host.child.pid);
      const cli = JSON.parse((await project.cli(["status", "--json"])).stdout) as StatusJson;
      expect(cli.host).toMatchObject({ running: true, pid: host.child.pid });
      expect(squatter.connections()).toBe(0);

      const folder = lstatSync(files.socketDir);
      expect(folder.isDirectory()).toBe(true);
      expect((folder.mode & 0o777).toString(8)).toBe("700");
      expect(lstatSync(files.socket).isSocket()).toBe(true);

      host.child.kill("SIGTERM");
      expect(await host.exited).toBe(0);
      expect(existsSync(files.socket)).toBe(false);
    } finally {
      await squatter.close();
    }
  });

  it("closes a socket folder of its own that others could enter, and refuses one of another user", async () => {
    project = await TempProject.create();
    const files = hostFiles(path.join(project.root, "data"));
    await mkdir(files.socketDir, { recursive: true, mode: 0o777 });
    const first = await project.start();
    expect((lstatSync(files.socketDir).mode & 0o777).toString(8)).toBe("700");
    expect(await first.stop()).toBe(0);

    if (process.getuid?.() !== 0) return; // another user's folder needs root to make
    await chown(files.socketDir, 65534, 65534);
    const refused = spawnStart(project);
    procs.push(refused);
    expect(await refused.exited).not.toBe(0);
    expect(refused.output()).toContain(`control socket: ${files.socketDir} belongs to uid 65534, not to this host's user (uid 0)`);
  });
});

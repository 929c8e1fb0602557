/**
 * Issue 10.7: the control socket cannot be squatted, nor reached by another user.
 * A listener at the old guessable /tmp name must get nothing; another user may not
 * connect, replace the socket, or reach a deep one through /proc; a socket folder
 * that is too open is closed, and one that is a link or another user's is refused.
 */
import { createHash } from "node:crypto";
import { lstatSync } from "node:fs";
import { chmod, chown, mkdir, rm, symlink } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { callHost } from "../../runtime/cli/control-client.ts";
import { hostFiles } from "../../runtime/host/host-files.ts";
import type { StatusJson } from "../../runtime/host/report-shapes.ts";
import { spawnStart } from "../../tests/support/fault-host.ts";
import { waitFor } from "../../tests/support/wait-for.ts";
import { asOtherUser, inProject, isRoot, NOBODY, otherUserAvailable, type Scenario } from "./adversarial-support.ts";

/** Another user's try at `code`: refused when it could not do it (exit code 0 means it did). */
async function otherUserRefused(code: string): Promise<boolean> {
  const result = await asOtherUser(code);
  return result !== null && result.code !== 0;
}

/** A start that must be refused: it exits non-zero naming the folder. */
async function refusedStart(project: Parameters<typeof spawnStart>[0], folder: string): Promise<boolean> {
  const host = spawnStart(project);
  const code = await Promise.race([host.exited, new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 30_000))]);
  await host.kill9();
  return code !== 0 && code !== "timeout" && host.output().includes(folder);
}

export const controlSocket: Scenario = {
  item: "7",
  attack: "control socket squatting and other users",
  run: async () => {
    const outcomes: Array<[string, boolean]> = [];
    const otherUser = await otherUserAvailable();
    // A deep data path: the old fallback name in /tmp, taken first by a squatter.
    await inProject({ database: { path: `${"deep-".repeat(12)}/${"er-".repeat(12)}/scheduler.db` } }, async (project) => {
      const dataDir = path.dirname(path.join(project.root, `${"deep-".repeat(12)}/${"er-".repeat(12)}/scheduler.db`));
      const oldName = path.join(os.tmpdir(), `taskhost-${createHash("sha1").update(dataDir).digest("hex").slice(0, 16)}.sock`);
      await rm(oldName, { force: true });
      let squatted = 0;
      const squatter = net.createServer((socket) => {
        squatted++;
        socket.end(`${JSON.stringify({ id: 1, result: { host: { running: true, pid: 4242 }, tasks: [{ id: "planted" }] } })}\n`);
      });
      await new Promise<void>((resolve) => squatter.listen(oldName, resolve));
      const host = spawnStart(project);
      try {
        const files = hostFiles(dataDir);
        await waitFor(() => callHost(files.socket, "ping", {}, 5000), { timeoutMs: 60_000, what: "the deep host" });
        const report = JSON.parse((await project.cli(["status", "--json"])).stdout) as StatusJson;
        outcomes.push(["a squatter at the old /tmp name", squatted === 0 && report.host.pid === host.child.pid && !report.tasks.some((t) => t.id === "planted")]);
        if (otherUser) {
          const hostPid = (await callHost<{ hostPid: number }>(files.socket, "ping", {}, 5000)).hostPid;
          outcomes.push([
            "another user through /proc/<host>/fd",
            await otherUserRefused(
              `import net from "node:net"; import fs from "node:fs";
               let fds = []; try { fds = fs.readdirSync("/proc/${hostPid}/fd"); } catch { process.exit(1); }
               for (const fd of fds) { const ok = await new Promise((r) => net.connect("/proc/${hostPid}/fd/" + fd + "/taskhost.sock").on("connect", () => r(true)).on("error", () => r(false))); if (ok) process.exit(0); }
               process.exit(1);`,
            ),
          ]);
        }
      } finally {
        await host.kill9();
        await new Promise((resolve) => squatter.close(resolve));
        await rm(oldName, { force: true });
      }
    });
    // A short path: another user at the socket itself, then the folder tampered with between starts.
    await inProject({}, async (project) => {
      const files = hostFiles(path.join(project.root, "data"));
      let host = await project.start();
      if (otherUser) {
        await chmod(project.root, 0o755); // let the other user walk up to data/
        outcomes.push([
          "another user connecting",
          await otherUserRefused(`import net from "node:net"; net.connect(${JSON.stringify(files.socket)}).on("connect", () => process.exit(0)).on("error", () => process.exit(1));`),
        ]);
        outcomes.push(["another user replacing the socket", await otherUserRefused(`import fs from "node:fs"; fs.unlinkSync(${JSON.stringify(files.socket)});`)]);
      }
      await host.stop();
      await chmod(files.socketDir, 0o777);
      host = await project.start();
      outcomes.push(["a socket folder left open (0777)", (lstatSync(files.socketDir).mode & 0o777) === 0o700]);
      await host.stop();
      if (isRoot) {
        await chown(files.socketDir, NOBODY, NOBODY);
        outcomes.push(["another user's socket folder", await refusedStart(project, files.socketDir)]);
      }
      await rm(files.socketDir, { recursive: true, force: true });
      await mkdir(path.join(project.root, "elsewhere"), { mode: 0o700 });
      await symlink(path.join(project.root, "elsewhere"), files.socketDir);
      outcomes.push(["a socket folder that is a link", await refusedStart(project, files.socketDir)]);
    });
    const failed = outcomes.filter(([, ok]) => !ok).map(([what]) => what);
    return [
      {
        item: "7",
        attack: `control socket: ${outcomes.map(([what]) => what).join(", ")}`,
        refused: { ok: outcomes.length - failed.length, of: outcomes.length },
        held: failed.length === 0,
        measured: `${failed.length ? `let through: ${failed.join(", ")}` : "every one refused"}${otherUser ? "" : " (no other user to be had: those attacks were not tried)"}`,
      },
    ];
  },
};

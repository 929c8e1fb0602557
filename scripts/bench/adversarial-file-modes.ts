/**
 * Issue 10.10: what taskhost writes is its user's alone. In a project as a git
 * clone leaves it (data/ and logs/ there already, 0755, for their .gitkeep), after
 * a host ran (a task logging a secret and keeping it in state, a failing one, the
 * dashboard's generated token, a snapshot and its backup), another user tries to
 * read every file under data/ and logs/. None holding output, state, logs or a
 * token may be readable; the task's bundles and manifests in data/cache/ are as
 * readable as tasks/ itself. Also lists the modes, for the README's table, and
 * checks that a task reading a secrets.yaml others can read is warned.
 */
import { chmod, lstat, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { finished, history } from "../../tests/support/history.ts";
import { taskSource } from "../../tests/support/task-sources.ts";
import { waitFor } from "../../tests/support/wait-for.ts";
import { asOtherUser, inProject, otherUserAvailable, type Scenario } from "./adversarial-support.ts";

const SECRET = "ledger-secret-9e21";

/** Every entry under `dir` (itself included) with its mode. */
async function modes(root: string, dir: string): Promise<Array<{ rel: string; mode: number; isDir: boolean }>> {
  const out = [{ rel: `${dir}/`, mode: (await lstat(path.join(root, dir))).mode & 0o777, isDir: true }];
  for (const entry of await readdir(path.join(root, dir), { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    const stat = await lstat(full);
    if (stat.isSymbolicLink()) continue;
    out.push({ rel: path.relative(root, full) + (stat.isDirectory() ? "/" : ""), mode: stat.mode & 0o777, isDir: stat.isDirectory() });
  }
  return out;
}

export const fileModes: Scenario = {
  item: "10",
  attack: "another user reading the ledger and logs",
  run: () =>
    inProject({ dashboard: { enabled: true, port: 0 } }, async (project) => {
      await project.writeTask(
        "leaks.ts",
        taskSource({
          schedule: "every(1).seconds",
          body: `ctx.log.info("the password is ${SECRET}"); ctx.state.set("k", "${SECRET}"); getConfigValue("api_key", "secrets.yaml");`,
        }).replace('import {', 'import { getConfigValue } from "taskhost/helpers";\nimport {'),
      );
      await project.writeTask("fails.ts", taskSource({ schedule: "every(1).seconds", body: `throw new Error("failed with ${SECRET}");` }));
      await writeFile(path.join(project.root, "config", "secrets.yaml"), "api_key: x\n", { mode: 0o644 });
      for (const dir of ["data", "logs"]) await mkdir(path.join(project.root, dir), { mode: 0o755 });
      for (let i = 0; i < 2; i++) {
        // Twice: the second start opens what the first left (snapshot, backup, rolled logs).
        const host = await project.start();
        await waitFor(async () => finished(await history(project, "leaks")).length >= 2 && finished(await history(project, "fails")).length >= 1, { timeoutMs: 60_000, what: "runs" });
        await host.stop();
      }
      const warned = (await readFile(path.join(project.root, "logs", "tasks.log"), "utf8")).includes("secrets.yaml is readable by other users");
      // The project folder as a user's would be: others may enter it.
      await chmod(project.root, 0o755);
      const entries = [...(await modes(project.root, "data")), ...(await modes(project.root, "logs"))];
      const files = entries.filter((e) => !e.isDir).map((e) => path.join(project.root, e.rel));
      const otherUser = await otherUserAvailable();
      let readable: string[] = [];
      if (otherUser) {
        const result = await asOtherUser(
          `import fs from "node:fs"; const ok = []; for (const f of ${JSON.stringify(files)}) { try { fs.readFileSync(f); ok.push(f); } catch {} } console.log(JSON.stringify(ok));`,
        );
        readable = (JSON.parse(result?.stdout || "[]") as string[]).map((f) => path.relative(project.root, f));
      }
      // The modes, folded: one line per kind of file.
      const kinds = new Map<string, string>();
      for (const e of entries) {
        const kind = e.rel.replace(/\.\d{4}-\d\d-\d\d.*$/, ".<date>").replace(/^data\/(cache|deps)\/.+/, "data/$1/…").replace(/corrupt-.*/, "corrupt-…");
        const mode = e.mode.toString(8);
        const known = kinds.get(kind);
        if (!known?.split(",").includes(mode)) kinds.set(kind, known ? `${known},${mode}` : mode);
      }
      const othersBits = entries.filter((e) => (e.mode & 0o007) !== 0 && !e.isDir).map((e) => e.rel);
      // Task code and its manifests, and two numbers (the supervisor's PID, the dashboard's port): no output, state, log line or secret is in them.
      const taskCode = (rel: string) => rel.startsWith("data/cache/") || rel.startsWith("data/deps/") || ["data/taskhost.pid", "data/dashboard-port"].includes(rel);
      const exposed = (otherUser ? readable : othersBits).filter((rel) => !taskCode(rel));
      const private_ = files.map((f) => path.relative(project.root, f)).filter((rel) => !taskCode(rel));
      return [
        {
          item: "10",
          attack: `another user reading the ${files.length} files under data/ and logs/ (0755 as cloned) after a secret was logged, kept in state, thrown`,
          refused: otherUser ? { ok: private_.length - exposed.length, of: private_.length } : undefined,
          held: exposed.length === 0 && warned,
          measured:
            `${otherUser ? `readable by another user: ${readable.length ? readable.map((r) => r.replace(/[0-9a-f]{16,}/, "…")).join(", ") : "none"} (task code, PID and port are not counted)` : "no other user to try with"}; ` +
            `${exposed.length ? `EXPOSED: ${exposed.join(", ")}; ` : ""}a task reading a 0644 secrets.yaml ${warned ? "is warned" : "is NOT warned"}; ` +
            `modes: ${[...kinds].map(([k, m]) => `${k} ${m}`).join(", ")}`,
        },
      ];
    }),
};

/**
 * Issue 10.9: taskhost's secrets (TASKHOST_* in the host's environment) never
 * reach task code. A task prints its environment at import, in its run, from an
 * executeCommand child and a raw spawn, and a dependency's install script records
 * what it saw; no secret may then be in a run's output, a log, the ledger's files
 * or the install script's record.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { finished, history } from "../../tests/support/history.ts";
import { startLocalRegistry } from "../../tests/support/local-registry.ts";
import { waitFor } from "../../tests/support/wait-for.ts";
import { inProject, type Scenario } from "./adversarial-support.ts";

const SECRETS = {
  TASKHOST_DASHBOARD_TOKEN: "dashboard-secret-7f3a9c",
  // Not TASKHOST_DATABASE_URL: it would make this host a PostgreSQL fleet member.
  TASKHOST_WEBHOOK_SECRET: "webhook-secret-41be",
  TASKHOST_SMTP_PASSWORD: "smtp-secret-c0ffee",
};

const LEAKY = `/*
---
dependencies: ["th-fixture-scripted"]
allow_scripts: true
---
*/
import { repeat, every, type TaskContext } from "taskhost";
import { executeCommand } from "taskhost/helpers";
import { spawnSync } from "node:child_process";
console.log("import:", JSON.stringify(process.env));
export default class {
  @repeat(every().second)
  async start(ctx: TaskContext) {
    ctx.log.info("run:", JSON.stringify(process.env));
    ctx.log.info("helper child:", (await executeCommand("env")).stdout.replace(/\\n/g, " "));
    ctx.log.info("raw child:", spawnSync("sh", ["-c", "env"], { encoding: "utf8" }).stdout.replace(/\\n/g, " "));
  }
}
`;

/** Every file under `dir`, as [path, bytes]. */
async function filesUnder(dir: string): Promise<Array<[string, Buffer]>> {
  const out: Array<[string, Buffer]> = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out.push([file, await readFile(file).catch(() => Buffer.alloc(0))]);
  }
  return out;
}

export const secrets: Scenario = {
  item: "9",
  attack: "secrets in the host's environment",
  run: async () => {
    const registry = await startLocalRegistry();
    try {
      return await inProject({ dependencies: { registry: registry.url } }, async (project) => {
        await project.writeTask("leaky.ts", LEAKY);
        const host = await project.start([], SECRETS);
        const run = await waitFor(async () => finished(await history(project, "leaky")).find((r) => r.status === "success"), { timeoutMs: 120_000, what: "a run of the leaky task" });
        await host.stop();
        const installRecord = (await filesUnder(path.join(project.root, "data"))).find(([file]) => file.endsWith(path.join("th-fixture-scripted", "install-ran")));
        // What each channel printed: its lines in the run's output, the logs and the console.
        const places = [...(await filesUnder(path.join(project.root, "logs"))), ...(await filesUnder(path.join(project.root, "data")))];
        const lines = [run.output, host.output(), ...places.map(([, bytes]) => bytes.toString("utf8"))].join("\n").split("\n");
        const seen: Record<string, string[]> = { install: installRecord ? [installRecord[1].toString("utf8")] : [] };
        for (const label of ["import:", "run:", "helper child:", "raw child:"]) seen[label] = lines.filter((line) => line.includes(`${label} `) && line.includes("TASKHOST_PROJECT_ROOT"));
        const ran = Object.entries(seen).filter(([, found]) => found.length > 0).map(([label]) => label.replace(":", ""));
        const leaks: string[] = [];
        for (const [name, value] of Object.entries(SECRETS)) {
          for (const [label, found] of Object.entries(seen)) if (found.some((text) => text.includes(value) || text.includes(`${name}`))) leaks.push(`${name} via ${label}`);
          // Anywhere at all: the ledger, its journal, any log.
          for (const [file, bytes] of places) if (bytes.includes(value)) leaks.push(`${name} in ${path.relative(project.root, file)}`);
        }
        const tried = Object.keys(SECRETS).length * Object.keys(seen).length;
        const leakedPairs = leaks.filter((l) => l.includes(" via ")).length;
        return [
          {
            item: "9",
            attack: `3 TASKHOST_* secrets, read at import, in a run, by an executeCommand child, a raw spawn and an install script`,
            refused: { ok: tried - leakedPairs, of: tried },
            held: leaks.length === 0 && ran.length === Object.keys(seen).length,
            measured: `${leaks.length ? `leaked: ${leaks.slice(0, 4).join("; ")}` : "no secret in any run output, log, ledger file or install record"}; channels seen at work: ${ran.join(", ")}`,
          },
        ];
      });
    } finally {
      await registry.close();
    }
  },
};

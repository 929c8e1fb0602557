import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TempProject, type HostProcess } from "./support/temp-project.ts";
import { history } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";
import { readHostLog } from "./support/host-log.ts";
import type { RunJson } from "../runtime/host/report-shapes.ts";

const TOKEN = "run-logs-token-0123456789";
const LINES = 5000;

describe("each run's whole output in logs/runs/", () => {
  let project: TempProject;
  let host: HostProcess;
  const logFile = (task: string, id: number) => path.join(project.root, "logs", "runs", ...task.split("/"), `${id}.log`);

  beforeAll(async () => {
    project = await TempProject.create({ database: { history_per_task: 10 }, dashboard: { enabled: true, port: 0, token: TOKEN } });
    await project.writeTask(
      "jobs/chatty.ts",
      `import { type TaskContext } from "taskhost";
export default class {
  async start(ctx: TaskContext) {
    for (let i = 1; i <= ${LINES}; i++) console.log("line " + i + " of the chatty run");
    ctx.log.warn("the last word");
  }
}
`,
    );
    await project.writeTask(
      "tick.ts",
      `import { repeat, every, type TaskContext } from "taskhost";
export default class {
  @repeat(every().second)
  async start(ctx: TaskContext) { ctx.log.info("tick " + ctx.scheduledFor.toISOString()); }
}
`,
    );
  });
  afterAll(async () => {
    await project.cleanup();
  });

  it("keeps all of a run's output beyond the ledger's excerpt: taskhost logs --run and the dashboard's link", async () => {
    // With no host: the offline run writes its file too.
    const offline = await project.json<RunJson>(["run", "jobs/chatty"]);
    expect(existsSync(logFile("jobs/chatty", offline.id))).toBe(true);

    host = await project.start();
    const run = await project.json<RunJson>(["run", "jobs/chatty"]);
    expect(run.output).toMatch(/characters omitted/);
    expect(run.output).not.toContain(`line 2500 of the chatty run`);
    const shown = await project.cli(["logs", "jobs/chatty", "--run", String(run.id)]);
    expect(shown.code).toBe(0);
    const lines = shown.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(LINES + 2);
    expect(lines[0]).toMatch(/^\S+Z INFO {2}line 1 of the chatty run$/);
    // Printed lines arrive through the worker's stdout, ctx.log lines as messages: each stream keeps its order.
    const printed = lines.filter((l) => l.includes("of the chatty run")).map((l) => Number(/line (\d+)/.exec(l)![1]));
    expect(printed).toEqual(Array.from({ length: LINES }, (_, i) => i + 1));
    expect(lines.filter((l) => /WARN {2}the last word$/.test(l))).toHaveLength(1);
    expect(lines[LINES + 1]).toMatch(/END {3}success in \d+ ms$/);
    expect(await readFile(logFile("jobs/chatty", run.id), "utf8")).toBe(shown.stdout);

    const url = await waitFor(async () => {
      const log = await readHostLog(project.root);
      return /"url":"(http:[^"]+)"/.exec(log.split("\n").find((l) => l.includes('"dashboard.start"')) ?? "")?.[1];
    }, { what: "the dashboard's url" });
    const response = await fetch(`${url}api/runs/${run.id}/log`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await response.text()).toBe(shown.stdout);
    expect((await fetch(`${url}api/runs/${run.id}/log`)).status).toBe(401);

    const missing = await project.cli(["logs", "jobs/chatty", "--run", "99999"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('task "jobs/chatty" has no run 99999');
    expect((await project.cli(["logs", "--run", "1"])).code).not.toBe(0);
  });

  it("history retention removes a run's file with its row", async () => {
    const first = await waitFor(async () => (await history(project, "tick")).at(-1), { what: "a first tick" });
    await waitFor(() => existsSync(logFile("tick", first.id)), { what: "its log file" });
    // history_per_task: 10 prunes after every run: the first tick goes once 10 newer ones ended.
    await waitFor(async () => !(await history(project, "tick")).some((r) => r.id === first.id), { timeoutMs: 60_000, what: "the first tick pruned" });
    await waitFor(() => !existsSync(logFile("tick", first.id)), { what: "its log file removed" });
    const kept = (await history(project, "tick")).filter((r) => r.status === "success");
    expect(existsSync(logFile("tick", kept[0]!.id))).toBe(true);
    expect(await readFile(logFile("tick", kept[0]!.id), "utf8")).toContain(`tick ${kept[0]!.scheduledFor}`);

    // With no host running the files are read directly.
    await host.stop();
    const shown = await project.cli(["logs", "tick", "--run", String(kept[0]!.id)]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`tick ${kept[0]!.scheduledFor}`);
  }, 120_000);
});

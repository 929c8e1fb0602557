import { TempProject, type HostProcess } from "./temp-project.ts";
import { waitFor } from "./wait-for.ts";
import { readHostLog } from "./host-log.ts";

export const TOKEN = "test-token-0123456789";

/** Tasks of the dashboard tests: one that ticks every second, one under a folder, one that fails, one that does not compile. */
export const DASHBOARD_TASKS: Record<string, string> = {
  "ticker.ts": `/*
---
title: "Ticker"
---
*/
import { repeat, every, type TaskContext } from "taskhost";
export default class {
  @repeat(every().second)
  async start(ctx: TaskContext) { ctx.log.info("tick"); }
}
`,
  "reports/daily.ts": `/*
---
title: "Daily report"
---
*/
import { repeat, cron, type TaskContext } from "taskhost";
export default class {
  @repeat(cron("0 9 * * *"))
  async start(ctx: TaskContext) {
    ctx.log.info("rows exported: 1234");
    await new Promise((r) => setTimeout(r, 150));
    ctx.log.info("report written to data/reports/daily.csv");
  }
}
`,
  "flaky.ts": `/*
---
title: "Disk check"
---
*/
import { repeat, every, type TaskContext } from "taskhost";
export default class {
  @repeat(every(6).hours)
  async start(ctx: TaskContext) {
    ctx.log.info("checking /var");
    throw new Error("disk almost full: /var is 97% used");
  }
}
`,
  "broken.ts": `/*
---
title: "Broken task"
timeout: "soon"
---
*/
import { repeat, every } from "taskhost";
export default class {
  @repeat(every(5).minutes)
  async start() {}
}
`,
};

export interface DashboardHost {
  project: TempProject;
  host: HostProcess;
  /** e.g. http://127.0.0.1:40123 (no trailing slash). */
  base: string;
}

/** A temp project with the tasks above and the dashboard on a free port; resolves once it answers. */
export async function startDashboardHost(tasks: Record<string, string> = DASHBOARD_TASKS): Promise<DashboardHost> {
  const project = await TempProject.create({ dashboard: { enabled: true, port: 0, token: TOKEN } });
  for (const [file, source] of Object.entries(tasks)) await project.writeTask(file, source);
  const host = await project.start();
  const url = await waitFor(
    async () => {
      const log = await readHostLog(project.root);
      for (const line of log.split("\n")) {
        if (!line.includes('"dashboard.start"')) continue;
        return (JSON.parse(line) as { url: string }).url;
      }
      return null;
    },
    { what: "dashboard.start in logs/scheduler.log" },
  );
  return { project, host, base: url.replace(/\/$/, "") };
}

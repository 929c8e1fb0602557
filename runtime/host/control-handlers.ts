import type { Ledger } from "../store/ledger.ts";
import type { Scheduler } from "../scheduler/scheduler.ts";
import type { TaskCatalog } from "./task-catalog.ts";
import type { ControlHandler } from "./control-server.ts";
import type { StatusJson } from "./report-shapes.ts";
import { hostOperations } from "./host-operations.ts";

export interface ControlContext {
  catalog: TaskCatalog;
  scheduler: Scheduler;
  ledger: Ledger;
  /** The PID users see (the supervisor's). */
  pid: number;
  status(): Promise<StatusJson>;
  stop(options: { reason: string; graceSec?: number; restart?: boolean }): void;
}

/** What other commands may ask the running host, over its control socket. */
export function controlHandlers(context: ControlContext): Record<string, ControlHandler> {
  const { scheduler } = context;
  const ops = hostOperations(context);
  const taskParam = (params: Record<string, unknown>) => String(params.task ?? "");
  return {
    ping: async () => ({ pid: context.pid, hostPid: process.pid, running: scheduler.runningCount }),
    status: () => context.status(),
    run: async (params) => {
      const { done, previousVersionOf } = await ops.startRun(taskParam(params), typeof params.method === "string" ? params.method : undefined);
      return { run: await done, previousVersionOf };
    },
    history: async (params) => {
      const limit = typeof params.limit === "number" ? params.limit : 20;
      return (await ops.history(taskParam(params), { limit })).runs;
    },
    "reset-schedules": async (params) =>
      ops.resetSchedules({
        tasks: Array.isArray(params.tasks) ? params.tasks.map(String) : [],
        futureOnly: params.futureOnly === true,
        dryRun: params.dryRun === true,
      }),
    "check-overdue": async () => scheduler.overdueSchedules(),
    /** A task the ledger knows, also one whose file is gone (its history and log lines stay). */
    task: async (params) => {
      const id = await ops.knownTask(taskParam(params));
      const entry = context.catalog.get(id);
      const row = await context.ledger.getTask(id);
      return { id, title: entry?.title ?? row?.title ?? id, removed: entry == null };
    },
    pause: async (params) => ops.setPaused(taskParam(params), true),
    resume: async (params) => ops.setPaused(taskParam(params), false),
    stop: async (params) => {
      const graceSec = typeof params.graceSec === "number" ? params.graceSec : undefined;
      context.stop({ reason: typeof params.reason === "string" ? params.reason : "stop requested", graceSec });
      return { stopping: true, pid: context.pid };
    },
    restart: async (params) => {
      const graceSec = typeof params.graceSec === "number" ? params.graceSec : undefined;
      const running = scheduler.runningCount;
      context.stop({ reason: "taskhost restart", graceSec, restart: true });
      return { restarting: true, pid: context.pid, hostPid: process.pid, running };
    },
  };
}

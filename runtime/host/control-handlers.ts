import type { Store } from "../store/store.ts";
import type { Scheduler } from "../scheduler/scheduler.ts";
import { ERR_UNKNOWN_TASK } from "../scheduler/scheduler.ts";
import type { TaskCatalog } from "./task-catalog.ts";
import type { ControlHandler } from "./control-server.ts";
import { runJson, type StatusJson } from "./report-shapes.ts";

export interface ControlContext {
  catalog: TaskCatalog;
  scheduler: Scheduler;
  store: Store;
  /** The PID users see (the supervisor's). */
  pid: number;
  status(): Promise<StatusJson>;
  stop(options: { reason: string; graceSec?: number; restart?: boolean }): void;
}

/** What other commands may ask the running host, over its control socket. */
export function controlHandlers(context: ControlContext): Record<string, ControlHandler> {
  const { catalog, scheduler, store } = context;
  const knownTask = async (params: Record<string, unknown>): Promise<string> => {
    const id = String(params.task ?? "");
    if (catalog.get(id) || (await store.getTask(id))) return id;
    throw Object.assign(new Error(`taskhost: no task "${id}" (see \`taskhost status\` for the task ids)`), { code: ERR_UNKNOWN_TASK });
  };
  return {
    ping: async () => ({ pid: context.pid, hostPid: process.pid, running: scheduler.runningCount }),
    status: () => context.status(),
    run: async (params) => {
      const id = await knownTask(params);
      const entry = catalog.get(id);
      if (entry && !entry.loaded) {
        throw Object.assign(new Error(entry.error ?? `taskhost: task "${id}" is still installing its dependencies; try again shortly`), {
          code: entry.error ? "ERR_TASK_LOAD" : "ERR_TASK_INSTALLING",
        });
      }
      const row = await scheduler.runNow(id, typeof params.method === "string" ? params.method : undefined);
      return runJson(row);
    },
    history: async (params) => {
      const id = await knownTask(params);
      const limit = typeof params.limit === "number" ? params.limit : 20;
      return (await store.listRuns(id, { limit })).map(runJson);
    },
    "reset-schedules": async (params) => {
      const tasks = Array.isArray(params.tasks) ? params.tasks.map(String) : [];
      for (const id of tasks) await knownTask({ task: id });
      const resets = scheduler.resetSchedules((_, taskId) => tasks.length === 0 || tasks.includes(taskId), {
        futureOnly: params.futureOnly === true,
        dryRun: params.dryRun === true,
      });
      await store.flush();
      return resets;
    },
    "check-overdue": async () => scheduler.overdueSchedules(),
    pause: async (params) => setPaused(await knownTask(params), true),
    resume: async (params) => setPaused(await knownTask(params), false),
    stop: async (params) => {
      context.stop({ reason: typeof params.reason === "string" ? params.reason : "stop requested" });
      return { stopping: true, pid: context.pid };
    },
    restart: async (params) => {
      const graceSec = typeof params.graceSec === "number" ? params.graceSec : undefined;
      const running = scheduler.runningCount;
      context.stop({ reason: "taskhost restart", graceSec, restart: true });
      return { restarting: true, pid: context.pid, hostPid: process.pid, running };
    },
  };
  async function setPaused(id: string, paused: boolean) {
    await store.setPaused(id, paused);
    scheduler.setPaused(id, paused);
    await store.flush();
    return { task: id, paused };
  }
}

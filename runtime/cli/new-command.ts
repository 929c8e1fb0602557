import { TaskAuthoring } from "../authoring/task-authoring.ts";
import type { TaskFormInput } from "../authoring/task-draft.ts";
import type { CliContext } from "./cli-context.ts";
import { runningHostPid } from "../host/host-lock.ts";

export interface NewOptions {
  script: string;
  cron?: string;
  every?: string;
  args?: string[];
  start?: string;
  end?: string;
  timeout?: string;
  retries?: string;
  retryDelay?: string;
  title?: string;
  description?: string;
  timezone?: string;
  overlap?: string;
  catchUp?: string;
  disabled?: boolean;
}

/** Flag names of the form's fields, for messages. */
const FLAG: Record<string, string> = { schedule: "--cron/--every", retries: "--retries", retryDelay: "--retry-delay", catchUp: "--catch-up", id: "<id>" };

/**
 * `taskhost new <id> --script PATH …`: writes `tasks/<id>.ts`, a task that runs
 * the script. No host is needed; a running one loads the file like any save.
 */
export async function newCommand(ctx: CliContext, id: string, options: NewOptions): Promise<number> {
  const authoring = new TaskAuthoring({
    projectRoot: ctx.projectRoot,
    tasksDir: () => ctx.config.tasks.directory,
    scriptDirs: () => ctx.config.authoring.scriptDirs,
    defaultZone: () => ctx.config.scheduler.timezone,
  });
  const input: TaskFormInput = {
    id,
    script: options.script,
    args: options.args ?? [],
    cron: options.cron,
    every: options.every,
    start: options.start,
    end: options.end,
    timeout: options.timeout,
    retries: options.retries,
    retryDelay: options.retryDelay,
    title: options.title,
    description: options.description,
    timezone: options.timezone,
    overlap: options.overlap,
    catchUp: options.catchUp,
    enabled: options.disabled ? false : undefined,
  };
  try {
    const doc = await authoring.create(input);
    const schedule = doc.schedules[0];
    process.stdout.write(`wrote ${doc.file}: ${doc.fields?.title ?? id}, ${schedule ? (schedule.text ?? schedule.expression) : "no schedule (run it with `taskhost run`)"}\n`);
    if (schedule && input.enabled !== false) {
      const preview = authoring.preview({ schedule: schedule.expression, timezone: options.timezone, start: options.start, end: options.end, count: 3 });
      const next = preview.occurrences.map((o) => `  ${o.local} (${preview.zone})`).join("\n");
      process.stdout.write(next ? `next runs:\n${next}\n` : "no occurrence left in its window\n");
    }
    process.stdout.write(`${await whoLoadsIt(ctx)}; edit the file or use the dashboard to change it\n`);
    return 0;
  } catch (error) {
    const { field, problem } = error as { field?: string; problem?: string };
    // Said of the flag, not of a line in a file that was not written.
    const message = field && problem ? problem : error instanceof Error ? error.message : String(error);
    process.stderr.write(`taskhost new: ${field ? `${FLAG[field] ?? `--${field}`}: ` : ""}${message}\n`);
    return 1;
  }
}

/**
 * What becomes of the file written. A running host sees it only through its task
 * watcher: with tasks.reload_on_change false it does not, until it restarts or the
 * key is set to true again (which rescans the folder). The configuration read here
 * is the file the host applies live (or the last good one it runs on, if the file is broken).
 */
async function whoLoadsIt(ctx: CliContext): Promise<string> {
  const host = await runningHostPid(ctx.files.pidFile);
  if (host == null) return "no host is running: it runs once one starts (npm start)";
  if (ctx.config.tasks.reloadOnChange) return `the running host (pid ${host}) picks it up at once`;
  return (
    `the running host (pid ${host}) does not watch the tasks folder (tasks.reload_on_change: false), so it does not load it yet: ` +
    "restart the host (npx taskhost restart), or set tasks.reload_on_change: true, which loads what changed in the folder"
  );
}

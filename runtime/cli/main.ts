import { readFileSync } from "node:fs";
import { Command, InvalidArgumentError } from "commander";
import { cliContext, givenConfigPath } from "./cli-context.ts";
import { PACKAGE_DIR } from "../runtime-paths.ts";

// Each command loads only what it needs: `status` or `run` must not pay for the host's
// code (esbuild, sql.js, the scheduler) at every call.
const startCommands = () => import("./start-command.ts");
const queryCommands = () => import("./query-commands.ts");
const opsCommands = () => import("./ops-commands.ts");

const program = new Command()
  .name("taskhost")
  .description("A hot-reloading TypeScript task runtime: .ts files in tasks/ run on clock boundaries.")
  .option("-c, --config <path>", "config file, relative to the project root", "config/config.yaml")
  .version(packageVersion(), "-V, --version", "print the version")
  // An unknown command or option gets commander's "(Did you mean …?)" and a pointer, not the whole help.
  .showSuggestionAfterError()
  .showHelpAfterError("(`taskhost --help` lists the commands)")
  .configureOutput({ outputError: (text, write) => write(text) });

// `taskhost logs | head`: once the reader has gone, a command has nothing left to say.
// Not the host's commands: a console that goes away must not stop a host (a hang-up does, gracefully).
program.hook("preAction", (_program, command) => {
  if (command.name() === "start" || command.name() === "__host" || command.name() === "__supervisor-lock") return;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") throw error;
      process.exit(0);
    });
  }
});

const configOf = () => {
  const { config } = program.opts<{ config: string }>();
  return program.getOptionValueSource("config") === "cli" ? givenConfigPath(config) : config;
};

program
  .command("start")
  .description("run the host (foreground; --daemon to detach with logs to files only; --no-supervisor under a service manager)")
  .option("--daemon", "detach and log to files only")
  .option("--no-supervisor", "run the host in this process, for a service manager that restarts it (exit 75: restart me)")
  .option("-c, --config <path>", "config file, relative to the project root")
  .action(async (opts: { daemon?: boolean; supervisor: boolean; config?: string }) => {
    const configPath = opts.config !== undefined ? givenConfigPath(opts.config) : configOf();
    process.exitCode = await (await startCommands()).startCommand(configPath, { daemon: opts.daemon ?? false, supervisor: opts.supervisor });
  });

program
  .command("__host", { hidden: true })
  .description("one host process, as spawned by the supervisor of `start`")
  .option("-c, --config <path>", "config file, relative to the project root")
  .action(async (opts: { config?: string }) => {
    // The supervisor passes the path it was started with, checked then (the default one may be absent).
    process.exitCode = await (await import("./host-command.ts")).hostCommand(opts.config ?? program.opts<{ config: string }>().config);
  });

program
  .command("__supervisor-lock", { hidden: true })
  .description("checks the config and takes the project's lock for the shell supervisor of `start` (runtime/supervisor/supervise.sh)")
  .requiredOption("--pid <pid>", "the supervisor's PID", positiveInt)
  .option("-c, --config <path>", "config file, relative to the project root")
  .action(async (opts: { pid: number; config?: string }) => {
    const configPath = opts.config !== undefined ? givenConfigPath(opts.config) : configOf();
    process.exitCode = await (await import("./supervisor-lock-command.ts")).supervisorLockCommand(configPath, opts.pid);
  });

program
  .command("status")
  .description("the host and every task: state, error, schedules with next and last run")
  .option("--json", "print one JSON object: the host and every task, with schedules, next and last runs")
  .action(async (opts: { json?: boolean }) => {
    process.exitCode = await (await queryCommands()).statusCommand(cliContext(configOf(), { warn: false }), opts.json ?? false);
  });

program
  .command("run")
  .description("run one task now (trigger manual), print its output; exit 0 on success")
  .argument("<task>", "task id, optionally with #method (e.g. reports/daily#start)")
  .option("--json", "print the recorded run as JSON")
  .action(async (task: string, opts: { json?: boolean }) => {
    process.exitCode = await (await queryCommands()).runCommand(cliContext(configOf()), task, opts.json ?? false);
  });

program
  .command("history")
  .description("a task's recorded runs, newest first")
  .argument("<task>", "task id")
  .option("-n, --limit <n>", "how many runs (0: none, only whether the task exists)", nonNegativeInt, 20)
  .option("--json", "print a JSON array of runs")
  .action(async (task: string, opts: { limit: number; json?: boolean }) => {
    process.exitCode = await (await queryCommands()).historyCommand(cliContext(configOf()), task, opts.limit, opts.json ?? false);
  });

for (const [name, paused] of [
  ["pause", true],
  ["resume", false],
] as const) {
  program
    .command(name)
    .description(paused ? "stop scheduling a task without editing its file" : "schedule a paused task again (from now on)")
    .argument("<task>", "task id")
    .action(async (task: string) => {
      process.exitCode = await (await queryCommands()).pauseCommand(cliContext(configOf()), task, paused);
    });
}

program
  .command("alerts")
  .description("the alerts raised (failure, streak, recovered, slow, missed, error), newest first")
  .option("--json", "print a JSON array")
  .option("-n, --limit <n>", "how many alerts", positiveInt, 50)
  .option("--task <id>", "only this task's")
  .action(async (opts: { json?: boolean; limit: number; task?: string }) => {
    process.exitCode = await (await import("./alerts-command.ts")).alertsCommand(cliContext(configOf()), { json: opts.json ?? false, limit: opts.limit, task: opts.task });
  });

program
  .command("logs")
  .description("the task log, or one task's lines of it; -f follows it (across rotations)")
  .argument("[task]", "task id")
  .option("-f, --follow", "keep printing new lines")
  .option("-n, --lines <n>", "how many lines to show first (0 with -f: only new ones)", nonNegativeInt, 50)
  .option("--run <id>", "the whole output of this run of the task (logs/runs/<task>/<id>.log)", positiveInt)
  .action(async (task: string | undefined, opts: { follow?: boolean; lines: number; run?: number }) => {
    if (opts.run !== undefined) {
      if (!task || opts.follow) throw new InvalidArgumentError("--run needs a task (logs <task> --run N) and takes no -f");
      process.exitCode = await (await import("./run-log-command.ts")).runLogCommand(cliContext(configOf()), task, opts.run);
      return;
    }
    process.exitCode = await (await import("./logs-command.ts")).logsCommand(cliContext(configOf()), task, opts.lines, opts.follow ?? false);
  });

program
  .command("reset-schedules")
  .description("recompute next runs on the aligned grid from now (what was missed is dropped, not caught up)")
  .option("--dry-run", "show what would change, change nothing")
  .option("--future-only", "only schedules whose next run is already in the past (overdue)")
  .option("--task <id>", "only this task (repeatable)", (value: string, previous: string[]) => [...previous, value], [] as string[])
  .option("--all", "every task (the default when no --task is given)")
  .action(async (opts: { dryRun?: boolean; futureOnly?: boolean; task: string[]; all?: boolean }) => {
    process.exitCode = await (await opsCommands()).resetSchedulesCommand(cliContext(configOf()), {
      dryRun: opts.dryRun ?? false,
      futureOnly: opts.futureOnly ?? false,
      task: opts.task,
      all: opts.all ?? false,
    });
  });

program
  .command("check-overdue")
  .description("list schedules whose next run has passed unrun")
  .option("--json", "print a JSON array")
  .action(async (opts: { json?: boolean }) => {
    process.exitCode = await (await opsCommands()).checkOverdueCommand(cliContext(configOf()), opts.json ?? false);
  });

program
  .command("restart")
  .description("graceful stop, then a fresh host (the supervisor's PID stays; with --no-supervisor, the service manager starts it)")
  .option("--timeout <s>", "seconds running tasks get (default scheduler.shutdown_grace)", nonNegative)
  .option("--force", "give running tasks no time: interrupt them at once")
  .option("--dry-run", "say what would happen, do nothing")
  .option("--daemon", "if no host is running, start one in the background")
  .action(async (opts: { timeout?: number; force?: boolean; dryRun?: boolean; daemon?: boolean }) => {
    process.exitCode = await (await import("./restart-command.ts")).restartCommand(cliContext(configOf(), { warn: false }), configOf(), {
      timeout: opts.timeout,
      force: opts.force ?? false,
      dryRun: opts.dryRun ?? false,
      daemon: opts.daemon ?? false,
    });
  });

program
  .command("stop")
  .description("graceful stop of the running host and its supervisor (as kill <pid>); returns when it is gone")
  .option("--timeout <s>", "seconds running tasks get (default scheduler.shutdown_grace)", nonNegative)
  .option("--force", "give running tasks no time: interrupt them at once")
  .action(async (opts: { timeout?: number; force?: boolean }) => {
    process.exitCode = await (await import("./stop-command.ts")).stopCommand(cliContext(configOf()), { timeout: opts.timeout, force: opts.force ?? false });
  });

program
  .command("new")
  .description("write tasks/<id>.ts, a task that runs a script (the occurrence's ISO time as its first argument)")
  .argument("<id>", "task id, e.g. reports/nightly-export")
  .argument("[script-args...]", "more arguments for the script, after -- (e.g. -- --full --day today)")
  .requiredOption("--script <path>", "the script, relative to the project root (under authoring.script_dirs)")
  .option("--cron <expr>", 'a cron expression, e.g. "0 2 * * *"')
  .option("--every <phrase>", 'an interval, e.g. "5 minutes", "hour at :15", "day at 09:00"')
  .option("--args <args...>", "arguments after the time (--args=--flag for one starting with -)")
  .option("--start <time>", "no run before this ISO date-time (start_date)")
  .option("--end <time>", "no run after this ISO date-time (end_date)")
  .option("--timeout <s>", "seconds a run may take")
  .option("--retries <n>", "retries after a failed run")
  .option("--retry-delay <s>", "seconds between retries")
  .option("--title <text>", "display name")
  .option("--description <text>", "one line about it")
  .option("--timezone <zone>", "IANA zone the schedule is read in")
  .option("--overlap <policy>", "skip, queue, allow or replace")
  .option("--catch-up <policy>", "once, skip or all")
  .option("--disabled", "write it with enabled: false")
  .action(async (id: string, rest: string[], opts: import("./new-command.ts").NewOptions) => {
    const args = [...(opts.args ?? []), ...rest];
    process.exitCode = await (await import("./new-command.ts")).newCommand(cliContext(configOf()), id, { ...opts, args });
  });

program
  .command("backfill")
  .description("run each occurrence of a past range that has no recorded run, oldest first, one at a time (trigger backfill)")
  .argument("<task>", "task id, optionally with #method")
  .requiredOption("--from <time>", "first instant of the range (ISO date-time, in the schedule's zone unless it has an offset)")
  .requiredOption("--to <time>", "last instant of the range (inclusive)")
  .option("--max <n>", "run at most this many (default 100)", positiveInt)
  .option("--dry-run", "list the occurrences it would run, run nothing")
  .action(async (task: string, opts: import("./backfill-command.ts").BackfillOptions) => {
    process.exitCode = await (await import("./backfill-command.ts")).backfillCommand(cliContext(configOf()), task, opts);
  });

program
  .command("ledger")
  .description("move the ledger")
  .command("copy")
  .description("copy this project's sql.js ledger into an empty PostgreSQL database (for a fleet of hosts)")
  .requiredOption("--to <url>", "postgres://user:password@host:port/database")
  .action(async (opts: { to: string }) => {
    process.exitCode = await (await import("./ledger-copy-command.ts")).ledgerCopyCommand(cliContext(configOf()), opts.to);
  });

function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError("must be a number of seconds >= 0");
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("must be a whole number > 0");
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a whole number >= 0");
  return n;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(`${PACKAGE_DIR}/package.json`, "utf8")) as { version?: string }).version ?? "unknown";
  } catch {
    return "unknown";
  }
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}

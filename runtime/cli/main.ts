import { Command, InvalidArgumentError } from "commander";
import { cliContext } from "./cli-context.ts";
import { startCommand } from "./start-command.ts";
import { statusCommand, historyCommand, runCommand, pauseCommand } from "./query-commands.ts";

const program = new Command()
  .name("taskhost")
  .description("A hot-reloading TypeScript task runtime: .ts files in tasks/ run on clock boundaries.")
  .option("-c, --config <path>", "config file, relative to the project root", "config/config.yaml")
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(text) });

const configOf = () => program.opts<{ config: string }>().config;

program
  .command("start")
  .description("run the host (foreground; --daemon to detach with logs to files only)")
  .option("--daemon", "detach and log to files only")
  .option("-c, --config <path>", "config file, relative to the project root")
  .action(async (opts: { daemon?: boolean; config?: string }) => {
    process.exitCode = await startCommand(opts.config ?? configOf(), opts.daemon ?? false);
  });

program
  .command("status")
  .description("the host and every task: state, error, schedules with next and last run")
  .option("--json", "print the contract's JSON object")
  .action(async (opts: { json?: boolean }) => {
    process.exitCode = await statusCommand(cliContext(configOf()), opts.json ?? false);
  });

program
  .command("run")
  .description("run one task now (trigger manual), print its output; exit 0 on success")
  .argument("<task>", "task id, optionally with #method (e.g. reports/daily#start)")
  .option("--json", "print the recorded run as JSON")
  .action(async (task: string, opts: { json?: boolean }) => {
    process.exitCode = await runCommand(cliContext(configOf()), task, opts.json ?? false);
  });

program
  .command("history")
  .description("a task's recorded runs, newest first")
  .argument("<task>", "task id")
  .option("-n, --limit <n>", "how many runs", positiveInt, 20)
  .option("--json", "print a JSON array of runs")
  .action(async (task: string, opts: { limit: number; json?: boolean }) => {
    process.exitCode = await historyCommand(cliContext(configOf()), task, opts.limit, opts.json ?? false);
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
      process.exitCode = await pauseCommand(cliContext(configOf()), task, paused);
    });
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("must be a whole number > 0");
  return n;
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}

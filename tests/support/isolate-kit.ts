/**
 * Real task bundles and a real IsolatingLauncher for the isolation tests:
 * write a task's source, bundle it as the host does (ES module + CommonJS
 * twin), launch runs at any level and collect what each reported.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { bundleTask } from "../../runtime/task-file/bundle-task.ts";
import { PACKAGE_DIR } from "../../runtime/runtime-paths.ts";
import { prepareToolchain } from "../../runtime/run/prepare-toolchain.ts";
import type { Toolchain } from "../../runtime/task-file/toolchain.ts";
import { IsolatingLauncher, type IsolatingLauncherOptions } from "../../runtime/run/isolates/isolating-launcher.ts";
import { isolateToolchain, type IsolateToolchain } from "../../runtime/run/isolates/isolate-entry-file.ts";
import type { LogLevel } from "../../runtime/logging/log-level.ts";
import type { Isolation, LaunchedRun, RunOutcome } from "../../runtime/scheduler/run-launcher.ts";

export interface CollectedRun {
  run: LaunchedRun;
  runId: number;
  lines: Array<{ level: LogLevel; line: string }>;
  state: Record<string, unknown>;
  startedAt: number | null;
  outcome: Promise<RunOutcome>;
  /** Log lines joined by newlines. */
  text(): string;
}

export class IsolateKit {
  private runIds = 1;
  private constructor(
    readonly root: string,
    readonly toolchain: Toolchain,
    readonly isolates: IsolateToolchain,
  ) {}

  static async create(prefix = "taskhost-isolates-"): Promise<IsolateKit> {
    const root = await mkdtemp(path.join(tmpdir(), prefix));
    await mkdir(path.join(root, "tasks"), { recursive: true });
    const cache = path.join(root, "data", "cache");
    const toolchain = await prepareToolchain(cache);
    return new IsolateKit(root, toolchain, await isolateToolchain(cache));
  }

  launcher(options: Partial<IsolatingLauncherOptions> = {}): IsolatingLauncher {
    return new IsolatingLauncher({
      workerEntryFile: this.toolchain.entryFile,
      isolates: this.isolates,
      paths: { projectRoot: this.root, packageDir: PACKAGE_DIR, dataDir: path.join(this.root, "data"), configFile: path.join(this.root, "config", "config.yaml") },
      maxConcurrentRuns: 4,
      ...options,
    });
  }

  /** Writes tasks/<name>.ts and bundles it; `outDir` for a task whose dependencies are installed there. */
  async bundle(name: string, code: string, options: { external?: string[]; outDir?: string } = {}): Promise<string> {
    const file = path.join(this.root, "tasks", `${name}.ts`);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, code);
    const built = await bundleTask({
      file,
      code,
      projectRoot: this.root,
      outDir: options.outDir ?? path.join(this.root, "data", "cache", "bundles"),
      external: options.external ?? [],
      apiModuleUrl: this.toolchain.apiModule.url,
    });
    return built.path;
  }

  /** Launches one run of `method` and starts it as soon as it is loaded. */
  run(
    launcher: IsolatingLauncher,
    bundlePath: string,
    options: {
      task?: string;
      method?: string;
      isolation: Isolation;
      timeoutSec?: number;
      memoryLimitMb?: number;
      state?: Record<string, unknown>;
      start?: boolean;
      /** A scheduled occurrence (trigger `schedule`) rather than a manual run now. */
      scheduledFor?: number;
      /** Its schedule's next occurrence (RunRequest.nextOccurrence). */
      nextOccurrence?: number;
      /** Launched ahead without a run slot (RunRequest.standby). */
      standby?: boolean;
    },
  ): CollectedRun {
    const lines: CollectedRun["lines"] = [];
    const state: Record<string, unknown> = { ...options.state };
    const taskId = options.task ?? path.basename(bundlePath);
    const runId = this.runIds++;
    const collected: CollectedRun = {
      runId,
      lines,
      state,
      startedAt: null,
      run: undefined as unknown as LaunchedRun,
      outcome: undefined as unknown as Promise<RunOutcome>,
      text: () => lines.map((l) => l.line).join("\n"),
    };
    const run = launcher.launch(
      {
        runId,
        task: { id: taskId, title: taskId },
        bundlePath,
        scheduleId: `${taskId}#${options.method ?? "main"}`,
        method: options.method ?? "main",
        scheduledFor: options.scheduledFor ?? Date.now(),
        attempt: 1,
        trigger: options.scheduledFor === undefined ? "manual" : "schedule",
        nextOccurrence: options.nextOccurrence ?? null,
        timeoutSec: options.timeoutSec ?? 30,
        memoryLimitMb: options.memoryLimitMb ?? 256,
        isolation: options.isolation,
        ...(options.standby ? { standby: true } : {}),
      },
      {
        started: (at) => (collected.startedAt = at),
        log: (level, line) => lines.push({ level, line }),
        state: (key, value, deleted) => {
          if (deleted) delete state[key];
          else state[key] = value;
        },
      },
    );
    collected.run = run;
    collected.outcome = run.outcome;
    if (options.start !== false) run.start(async () => ({ ...state }));
    return collected;
  }

  async dispose(): Promise<void> {
    await this.toolchain.inspector.dispose();
    await rm(this.root, { recursive: true, force: true });
  }
}

/** A task file whose `main` method body is `body` (it receives `ctx`), with `prelude` at the top level. */
export function taskSource(body: string, prelude = ""): string {
  return (
    `import { repeat, every, type TaskContext } from "taskhost";\n${prelude}\n` +
    `export default class T {\n  @repeat(every(1).hours)\n  async main(ctx: TaskContext) {\n${body}\n  }\n}\n`
  );
}

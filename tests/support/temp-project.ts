import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { waitFor } from "./wait-for.ts";
import { callHost, ERR_NO_HOST } from "../../runtime/cli/control-client.ts";
import { hostFiles } from "../../runtime/host/host-files.ts";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BIN = path.join(REPO, "runtime", "bin", "taskhost.js");
/** The `taskhost` command (package.json's bin): a shell script. */
export const SHELL_BIN = path.join(REPO, "runtime", "bin", "taskhost");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface HostProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  output(): string;
  /** SIGTERM and wait for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL the supervisor and the host under it (a crash). */
  kill9(): Promise<void>;
  /** The PID of the host process (the supervisor's child) now. */
  hostPid(): Promise<number>;
  exited: Promise<number | null>;
}

/** Every process below `pid` (deepest first), from /proc. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended while we looked
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      walk(c);
      out.push(c);
    }
  };
  walk(pid);
  return out;
}

/**
 * A throw-away taskhost project in a temp folder: its own tasks/, config/,
 * data/ and logs/, driven through the real `taskhost` command.
 */
export class TempProject {
  private readonly hosts = new Set<HostProcess>();

  private constructor(readonly root: string) {}

  static async create(config: Record<string, unknown> = {}): Promise<TempProject> {
    const root = await mkdtemp(path.join(os.tmpdir(), "th-"));
    const project = new TempProject(root);
    await mkdir(path.join(root, "tasks"), { recursive: true });
    await project.writeConfig(config);
    return project;
  }

  async writeConfig(config: Record<string, unknown>): Promise<void> {
    await mkdir(path.join(this.root, "config"), { recursive: true });
    await writeFile(path.join(this.root, "config", "config.yaml"), stringify(config));
  }

  async writeTask(relPath: string, source: string): Promise<string> {
    const file = path.join(this.root, "tasks", relPath);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, source);
    return file;
  }

  cli(args: string[], timeoutMs = 60_000): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], { cwd: this.root, env: { ...process.env, NO_COLOR: "1" } });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`taskhost ${args.join(" ")} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
      }, timeoutMs);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  async json<T>(args: string[]): Promise<T> {
    const result = await this.cli([...args, "--json"]);
    if (result.code !== 0) throw new Error(`taskhost ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  }

  /**
   * Asks the running host over its control socket, as the CLI does, without
   * paying for a CLI process per poll; with no host running, runs the command
   * (`cliArgs` + `--json`) so the offline path answers.
   */
  async ask<T>(method: string, params: Record<string, unknown>, cliArgs: string[]): Promise<T> {
    try {
      return await callHost<T>(hostFiles(path.join(this.root, "data")).socket, method, params, 20_000);
    } catch (error) {
      if ((error as { code?: unknown }).code !== ERR_NO_HOST) throw error;
      return this.json<T>(cliArgs);
    }
  }

  /**
   * Starts `taskhost start` as users do, through the `taskhost` command (its supervisor is a
   * shell), or with `nodeArgs` (Node's own flags) through Node, and waits until it answers on its socket.
   */
  async start(extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Promise<HostProcess> {
    const [command, args] = nodeArgs.length > 0 ? [process.execPath, [...nodeArgs, BIN]] : [SHELL_BIN, []];
    const child = spawn(command, [...args, "start", ...extraArgs], {
      cwd: this.root,
      env: { ...process.env, NO_COLOR: "1", TASKHOST_NODE: process.execPath, ...env },
    });
    let output = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const host: HostProcess = {
      child,
      pid: child.pid!,
      output: () => output,
      exited,
      stop: async (signal = "SIGTERM") => {
        if (child.exitCode == null && child.signalCode == null) child.kill(signal);
        return exited;
      },
      kill9: async () => {
        // The whole tree at once, as a power cut would: every process is stopped before any is
        // killed, so none sees another die (a host seeing its run's child die would record the run
        // failed; a supervisor seeing its host die would restart it).
        const tree = [child.pid!, ...descendants(child.pid!)];
        for (const signal of ["SIGSTOP", "SIGKILL"] as const) {
          for (const pid of tree) {
            try {
              process.kill(pid, signal);
            } catch {
              // already gone
            }
          }
        }
        await exited;
      },
      hostPid: async () => (await callHost<{ hostPid: number }>(hostFiles(path.join(this.root, "data")).socket, "ping", {}, 2000)).hostPid,
    };
    this.hosts.add(host);
    let exitCode: number | null | undefined;
    void exited.then((code) => (exitCode = code));
    const socket = hostFiles(path.join(this.root, "data")).socket;
    await waitFor(
      async () => {
        if (exitCode !== undefined) throw new Error(`host exited (${exitCode}) while starting:\n${output}`);
        const { pid } = await callHost<{ pid: number }>(socket, "ping", {}, 2000);
        return pid === child.pid;
      },
      { timeoutMs: 30_000, what: `host start\n${output}` },
    );
    return host;
  }

  async cleanup(): Promise<void> {
    for (const host of this.hosts) await host.kill9();
    await rm(this.root, { recursive: true, force: true });
  }
}

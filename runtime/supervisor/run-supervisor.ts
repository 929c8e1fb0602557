import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { acquireLocks } from "../host/host-lock.ts";
import type { ProjectContext } from "../host/project-context.ts";
import { EXIT_CANNOT_START, EXIT_RESTART, EXIT_STOPPED } from "./exit-codes.ts";
import { RestartPolicy } from "./restart-policy.ts";
import { isStartFailedMessage, writeStartFailure } from "./start-failure.ts";
import { lastCrashEnv, type LastCrash } from "./last-crash.ts";
import { OutputTail } from "./output-tail.ts";
import { guardBrokenPipe, writeUnlessBroken } from "../logging/broken-pipe.ts";

/** How long after a host's exit its stderr may still bring lines for the crash's account. */
const STDERR_DRAIN_MS = 500;

/** Signals closer together than this are one request (see onSignal). */
export const SIGNAL_ECHO_MS = 300;

/**
 * V8's young generation grows to 2 × 16 MB under a burst of allocation (a cold
 * start's bundling) and stays that size, idle; 2 × 4 MB costs the host about
 * as little in GC time (measured in the bench's burst) and 24 MB less RSS.
 * install.sh --no-supervisor gives Node the same flags in the unit's ExecStart.
 */
export const HOST_NODE_FLAGS = ["--max-semi-space-size=4"];

/**
 * `TASKHOST_CPU_PROFILE=<folder>`: each host writes a V8 CPU profile of its
 * main thread there when it exits (Node's --cpu-prof: Node 20 refuses it in
 * NODE_OPTIONS, and there it would profile the supervisor and every Node
 * process a run starts too), for Chrome DevTools; `npm run bench -- --profile` sets it.
 */
function hostNodeFlags(): string[] {
  const folder = process.env.TASKHOST_CPU_PROFILE;
  return folder ? [...HOST_NODE_FLAGS, "--cpu-prof", `--cpu-prof-dir=${path.resolve(folder)}`] : HOST_NODE_FLAGS;
}

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "bin", "taskhost.js");

export interface SupervisorOptions {
  ctx: ProjectContext;
  configOption: string;
  /** Where the supervisor's own lines go (stderr in the foreground). */
  say(line: string): void;
  /** Where routine lifecycle lines go (host started, restarted, stopped); unset: nowhere. */
  note?(line: string): void;
  policy?: RestartPolicy;
}

/**
 * The process users, the PID file and systemd see: it holds the project's lock
 * and (re)spawns the host as a child, so a host can restart itself (memory
 * limit, `taskhost restart`) or be restarted after a crash without the PID
 * changing. Signals are passed on once; a second one kills.
 */
export async function runSupervisor(options: SupervisorOptions): Promise<number> {
  const { ctx, say } = options;
  const note = options.note ?? (() => {});
  process.title = "taskhost";
  let lock;
  try {
    lock = await acquireLocks({ projectRoot: ctx.projectRoot, pidFile: ctx.files.pidFile, sharedLedger: ctx.config.database.url != null });
  } catch (error) {
    say(error instanceof Error ? error.message : String(error));
    return 1;
  }
  const policy = options.policy ?? new RestartPolicy();
  let restarts = 0;
  let lastCrash: LastCrash | null = null;
  let stopping = false;
  let child: ChildProcess | null = null;
  let lastSignalAt = 0;
  let stopSignals = 0;
  let killedNow = false;
  const onSignal = (signal: NodeJS.Signals) => {
    const now = Date.now();
    const echo = now - lastSignalAt < SIGNAL_ECHO_MS;
    lastSignalAt = now;
    if (signal === "SIGHUP") {
      if (stopping) return;
      if (!terminalHungUp()) {
        // A graceful restart of the host, as with `taskhost restart`.
        child?.kill("SIGHUP");
        return;
      }
      // A closed terminal hangs up: that is a stop with grace, not a restart.
      say("taskhost: the terminal closed: stopping gracefully");
      stopping = true;
      child?.kill("SIGTERM");
      return;
    }
    // `npm start` passes the terminal's Ctrl-C on as SIGTERM too: one keypress, two
    // signals within milliseconds. Only a second stop request later means "stop now".
    if (echo && stopSignals > 0) return;
    stopSignals++;
    if (stopSignals === 1) {
      // After a hang-up (restart or closed terminal) too: the runs keep their grace. The signal
      // itself is passed on (SIGINT or SIGTERM, a stop with grace to the host alike), so the
      // host's host.stopping says what was done (Ctrl-C is SIGINT), not always SIGTERM.
      if (!stopping) child?.kill(signal);
      stopping = true;
      return;
    }
    say(`taskhost: ${signal} again: stopping now without waiting for runs`);
    killedNow = true;
    child?.kill("SIGKILL");
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  try {
    for (;;) {
      const started = Date.now();
      child = spawn(process.execPath, [...hostNodeFlags(), BIN, "__host", "--config", options.configOption], {
        cwd: ctx.projectRoot,
        // Its own process group: a terminal's Ctrl-C reaches the supervisor only, which
        // passes it on once (a host seeing two signals would stop without grace). The IPC
        // channel tells the host when the supervisor is gone, even after a kill -9.
        detached: true,
        // Output through pipes the supervisor relays: a terminal that closes (SIGHUP, then
        // EIO on every write) is the supervisor's to survive, never the host's mid-shutdown.
        stdio: ["ignore", "pipe", "pipe", "ipc"],
        env: {
          ...process.env,
          TASKHOST_SUPERVISOR_PID: String(process.pid),
          // The project the supervisor found (maybe from a subfolder): the host is not to look again.
          TASKHOST_ROOT: ctx.projectRoot,
          TASKHOST_RESTARTS: String(restarts),
          ...lastCrashEnv(lastCrash),
          ...(process.stdout.isTTY ? { TASKHOST_COLOR: "1" } : {}),
        },
      });
      const stderrTail = new OutputTail();
      relayOutput(child.stdout!, process.stdout);
      relayOutput(child.stderr!, process.stderr, stderrTail);
      note(`taskhost: supervisor ${process.pid} started host ${child.pid}${restarts > 0 ? ` (restart ${restarts})` : ""}`);
      const hostPid = child.pid ?? null;
      let reason: string | null = null;
      child.on("message", (message) => {
        if (isStartFailedMessage(message)) reason = message.message;
      });
      const failed = (message: string, gaveUp: boolean) =>
        writeStartFailure(ctx.files.dataDir, { at: Date.now(), hostPid, message: reason ?? message, gaveUp });
      const exited = child;
      const closed = new Promise<void>((resolve) => exited.once("close", () => resolve()));
      const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        exited.once("exit", (c, s) => resolve({ code: c, signal: s })),
      );
      child = null;
      if (stopping || code === EXIT_STOPPED) {
        // A host that died while it stopped (a signal, a crash) did not finish its stop: say so, and do not report success.
        if (!killedNow && (signal != null || (code !== EXIT_STOPPED && code !== EXIT_RESTART))) {
          say(`taskhost: the host ${signal ? `was killed by ${signal}` : `exited with code ${code}`} while stopping; runs in flight may not have been recorded as ended (see logs/errors.log)`);
          return 1;
        }
        note(`taskhost: the host stopped; supervisor ${process.pid} exits`);
        return killedNow ? 130 : 0;
      }
      if (code === EXIT_CANNOT_START) {
        failed("the host could not start", true);
        say(`taskhost: the host could not start${reason ? `: ${reason}` : " (see the message above)"}; not retrying`);
        return EXIT_CANNOT_START;
      }
      restarts++;
      if (code === EXIT_RESTART) {
        note("taskhost: the host asked for a restart (memory limit or `taskhost restart`; see logs/scheduler.log)");
        continue;
      }
      const ranMs = Date.now() - started;
      const delay = policy.afterCrash(ranMs);
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      // A crash's last words on stderr may still be in the pipe at "exit": wait for it to close, briefly
      // (esbuild's service or a process a task started may hold it open). Only here: a stop must not wait.
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, STDERR_DRAIN_MS))]);
      const lastWords = stderrTail.lines();
      lastCrash = { at: Date.now(), error: `the host ${how} after ${Math.round(ranMs / 1000)} s${lastWords ? `; the last it wrote on stderr:\n${lastWords}` : ""}` };
      failed(lastCrash.error, delay == null);
      if (delay == null) {
        say(`taskhost: the host ${how}; it crashed ${policy.crashesInARow} times in a row within seconds of starting, so the supervisor gives up. See logs/errors.log.`);
        return 1;
      }
      say(`taskhost: the host ${how} after ${Math.round(ranMs / 1000)} s; starting it again in ${delay / 1000} s (restart ${restarts})`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (stopping) return 0;
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("SIGHUP", onSignal);
    await lock.release();
  }
}

/**
 * Whether this process had a terminal and lost it: after a hang-up the
 * controlling terminal can no longer be opened. (Under systemd or `--daemon`
 * there never was one: a SIGHUP there is always a restart request.)
 */
function terminalHungUp(): boolean {
  if (!process.stdin.isTTY && !process.stdout.isTTY && !process.stderr.isTTY) return false;
  try {
    closeSync(openSync("/dev/tty", "r"));
    return false;
  } catch {
    return true;
  }
}

/**
 * Passes the host's output on, and keeps reading it after the console went away
 * (`taskhost start | head -2`, a closed terminal): pipe() would stop reading at
 * the first EPIPE, the host's pipe would fill, and a host writing its console
 * synchronously (pipes are, on Linux) would block for good.
 */
function relayOutput(from: NodeJS.ReadableStream, to: NodeJS.WriteStream, tail?: OutputTail): void {
  guardBrokenPipe(to);
  from.on("data", (chunk: Buffer) => {
    tail?.push(chunk);
    writeUnlessBroken(to, chunk);
  });
}

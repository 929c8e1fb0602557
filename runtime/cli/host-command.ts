import { readLastCrash } from "../supervisor/last-crash.ts";
import type { Host } from "../compose/start-host.ts";
import { standingStopRequest, type StopRequest } from "../host/starting-control.ts";
import { isCode } from "../errors.ts";
import { ERR_HOST_RUNNING } from "../host/host-lock.ts";
import { guardBrokenPipe } from "../logging/broken-pipe.ts";
import { EXIT_CANNOT_START, EXIT_RESTART, EXIT_STOPPED } from "../supervisor/exit-codes.ts";
import { writeStartFailure } from "../supervisor/start-failure.ts";
import { findProjectRoot } from "./cli-context.ts";
import { callHost } from "./control-client.ts";
import { hostFiles } from "../host/host-files.ts";
import { survivesClosedTerminal } from "./closed-terminal.ts";
import { isProcessAlive } from "../util/is-process-alive.ts";

/**
 * How long a host with no supervisor waits for the project's lock: held for a
 * moment by a command that found no host (the gap while a service manager
 * restarts it), or by a host still stopping. A supervisor holds the lock
 * through its host's restarts, so there is no such gap with one.
 */
const LOCK_WAIT_MS = 30_000;
const LOCK_POLL_MS = 250;
/** Exit code for a lock still held after LOCK_WAIT_MS: a failure a service manager retries (78 it does not). */
const EXIT_LOCK_HELD = 1;
/** Stop signals closer together than this are one request (see onSignal). */
const SIGNAL_ECHO_MS = 300;
/** How often a supervised host checks that its supervisor is still its parent. */
const SUPERVISOR_CHECK_MS = 1000;

export interface HostCommandOptions {
  /** `start --no-supervisor`: no supervisor spawned this process; `dataDir` takes the start-failure record. */
  alone?: { dataDir: string };
}

/**
 * The hidden `__host` command: one host process, spawned and watched by the
 * supervisor; also `start --no-supervisor` (titled `taskhost`, the process users
 * and the service manager see).
 */
export async function hostCommand(configOption: string, options: HostCommandOptions = {}): Promise<number> {
  const { alone } = options;
  process.title = alone ? "taskhost" : "taskhost-host";
  guardBrokenPipe(process.stdout);
  guardBrokenPipe(process.stderr);
  survivesClosedTerminal();
  const projectRoot = findProjectRoot();
  // Task code and its processes see the project root, as under a supervisor (which starts its host there).
  if (alone) process.chdir(projectRoot);
  // Alone, an inherited TASKHOST_SUPERVISOR_PID (a command a supervised host's task ran) names no supervisor of ours.
  const supervisorPid = alone ? undefined : Number(process.env.TASKHOST_SUPERVISOR_PID) || undefined;
  // The signals are handled from the first moment, not once the host is up: a stop (or a
  // hang-up's restart) while it starts would otherwise end the process by the signal mid-start
  // (which systemd takes for a clean stop). Before the host is up, a request goes where the
  // control socket's does: the wait for the database ends, no run starts, and it stops once up.
  let host: Host | undefined;
  let stopWhileStarting: ((request: StopRequest) => void) | undefined;
  let pending: StopRequest | undefined;
  let stops = 0;
  let lastStopAt = -Infinity;
  const onSignal = (signal: NodeJS.Signals) => {
    const restart = signal === "SIGHUP";
    const now = Date.now();
    // One Ctrl-C can arrive twice (the terminal's, and npm's copy of it), here or at the
    // supervisor, which passes each on: a second stop that close to the first is the same request.
    const echo = now - lastStopAt < SIGNAL_ECHO_MS;
    if (!restart) lastStopAt = now;
    // Only a second *stop* means "now": a stop after a hang-up (a closing terminal sends
    // both) turns the restart into a stop and keeps the runs' grace.
    if (!restart && !echo && ++stops > 1) {
      process.stderr.write(`taskhost: ${signal} again: stopping now without waiting for runs\n`);
      process.exit(130);
    }
    if (echo) return;
    const request: StopRequest = { reason: `received ${signal}`, restart };
    if (host) {
      void host.stop(request).catch((error: unknown) => {
        process.stderr.write(`taskhost: stop failed: ${String(error)}\n`);
        process.exit(1);
      });
      return;
    }
    // Kept for a start that is tried again (the lock's wait).
    pending = standingStopRequest(pending, request);
    stopWhileStarting?.(request);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  const offSignals = () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("SIGHUP", onSignal);
  };
  try {
    const { startHost } = await import("../compose/start-host.ts");
    const start = () =>
      startHost({
        projectRoot,
        configPath: configOption,
        console: process.env.TASKHOST_DAEMON !== "1",
        supervisorPid,
        restarts: Number(process.env.TASKHOST_RESTARTS) || 0,
        lastCrash: alone ? null : readLastCrash(process.env),
        onStopWhileStarting: (requestStop) => {
          stopWhileStarting = requestStop;
          if (pending) requestStop(pending);
        },
      });
    host = alone ? await startWhenLockFree(start, hostFiles(alone.dataDir).socket, () => pending) : await start();
  } catch (error) {
    offSignals();
    const message = error instanceof Error ? error.message : String(error);
    if (!(error as { reported?: boolean }).reported) process.stderr.write(`${message}\n`);
    const code = alone && isCode(error, ERR_HOST_RUNNING) ? EXIT_LOCK_HELD : EXIT_CANNOT_START;
    // So `taskhost restart` and `start --daemon` can say at once why no host comes up.
    // (A supervised host's record is in the folder its supervisor took the lock in.)
    const dataDir = alone?.dataDir ?? process.env.TASKHOST_SUPERVISOR_DATA_DIR;
    if (dataDir) writeStartFailure(dataDir, { at: Date.now(), hostPid: process.pid, message, gaveUp: code === EXIT_CANNOT_START });
    return code;
  }
  // Told to stop while it waited for the lock: it never started.
  if (!host) {
    offSignals();
    return pending?.restart ? EXIT_RESTART : EXIT_STOPPED;
  }
  const up = host;
  // The supervisor is gone (even by kill -9: this process is then another's child), or the Node
  // process that started it (`node taskhost.js start`): stop rather than run on unowned. The
  // supervisor then exits too, releasing the lock.
  const launcherPid = Number(process.env.TASKHOST_LAUNCHER_PID) || undefined;
  const supervisorCheck = supervisorPid
    ? setInterval(() => {
        if (process.ppid === supervisorPid && (launcherPid == null || isProcessAlive(launcherPid))) return;
        clearInterval(supervisorCheck);
        void up.stop({ reason: "the supervisor went away" }).catch(() => process.exit(1));
      }, SUPERVISOR_CHECK_MS).unref()
    : undefined;
  const { restart } = await up.stopped;
  clearInterval(supervisorCheck);
  offSignals();
  // Alone in a terminal, nothing else would say why the process ended here.
  if (restart && alone) process.stderr.write(`taskhost: exiting with code ${EXIT_RESTART} to be restarted: with --no-supervisor, the service manager starts the new host\n`);
  return restart ? EXIT_RESTART : EXIT_STOPPED;
}

/**
 * Starts the host, waiting up to LOCK_WAIT_MS for a lock another process holds (saying so
 * once); a host that answers on `socket` holds it for good, and is named at once. Undefined
 * when a stop or restart was asked for while it waited.
 */
async function startWhenLockFree(start: () => Promise<Host>, socket: string, stopAsked: () => StopRequest | undefined): Promise<Host | undefined> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let said = false;
  for (;;) {
    try {
      return await start();
    } catch (error) {
      if (isCode(error, ERR_HOST_RUNNING) && stopAsked()) return undefined;
      if (!isCode(error, ERR_HOST_RUNNING) || Date.now() >= deadline) throw error;
      if (await answers(socket)) throw error;
      if (!said) {
        said = true;
        const holder = (error as { pid?: number }).pid;
        process.stderr.write(`taskhost: the project's lock is held${holder ? ` by pid ${holder}` : ""} (a command, or a host still stopping); waiting up to ${LOCK_WAIT_MS / 1000} s for it\n`);
      }
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
      if (stopAsked()) return undefined;
    }
  }
}

/** Whether a host answers on the control socket (a running host, not a command or a host stopping). */
async function answers(socket: string): Promise<boolean> {
  try {
    await callHost(socket, "ping", {}, 1000);
    return true;
  } catch {
    return false;
  }
}

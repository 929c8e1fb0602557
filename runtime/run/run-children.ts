/**
 * The processes a run starts, seen from inside its worker thread (issue 10.4).
 *
 * Every async child_process API (spawn, exec, execFile, fork, and the helpers
 * built on them) goes through `ChildProcess.prototype.spawn`, patched here for
 * this worker only (a worker has its own copy of Node's modules). Each child
 * starts as the leader of a process group of its own, so what it starts in
 * turn can be reached too, and the host is told its pid.
 *
 * When the run ends, the host asks for its children to end before it
 * terminates the thread: only this thread's event loop can reap them (libuv
 * waits for the pids of its own loop's children). A terminated thread's
 * children that die later stay zombies until the host process exits.
 *
 * From the moment the host holds the run over (it ended, or its time ran out
 * and its grace with it, or it was stopped), the host sets a flag in shared
 * memory and a spawn throws: a run busy in a synchronous loop of spawns (which
 * cannot hear the host's messages) starts nothing the host does not know of,
 * and its loop ends at the throw, so the thread can end and reap what it
 * started. Under `task` isolation that holds between runs too (a module-level
 * timer): a process belongs to a run. The next run's load clears the flag.
 */
import { ChildProcess } from "node:child_process";
import type { MessagePort } from "node:worker_threads";
import { isProcessAlive } from "../util/is-process-alive.ts";

/** Between the host and a run's worker, besides worker-protocol.ts's messages. */
export type RunChildrenMessage =
  /** Worker → host: a child started; `pgid` is its process group (its own pid). */
  | { type: "child.started"; pid: number; pgid: number }
  /** Host → worker: the run is over; end every group, SIGKILL after `graceMs`. */
  | { type: "children.end"; graceMs: number }
  /** Worker → host: every child has exited and been reaped. */
  | { type: "children.ended"; killed: number };

/** How long after SIGKILL a child's exit is waited for. */
const KILL_WAIT_MS = 1000;

/**
 * One Int32 shared by the host and a worker: OVER while no run the worker
 * serves may start processes, else the token of the run that may (a warm
 * worker begins a run queued behind another by itself, and sets its token).
 */
export type RunOverFlag = Int32Array;

/** The run is over: spawns throw. */
const OVER = 1;
/** The token of a run that is the only one its worker ever serves (`worker` isolation). */
export const ANY_RUN = 0;

export function newRunOverFlag(): RunOverFlag {
  return new Int32Array(new SharedArrayBuffer(4));
}

/** The host's side: the run is over (spawns throw), or the run with `token` begins (it may start processes). */
export function setRunOver(flag: RunOverFlag, over: boolean, token = ANY_RUN): void {
  Atomics.store(flag, 0, over ? OVER : token);
}

/** The run with `token` is over, unless its worker moved on to another run already (then that one's token stays). */
export function endRunOf(flag: RunOverFlag, token: number): void {
  Atomics.compareExchange(flag, 0, token, OVER);
}

type SpawnOptions = { detached?: boolean };

/**
 * Installs the patch in this worker and answers the host's `children.end`. Call before task code loads.
 * Returns whether processes a run started are still tracked; `ended` is called once the host's
 * `children.end` is done.
 */
export function trackRunChildren(port: MessagePort, over: RunOverFlag, ended: () => void = () => {}): () => boolean {
  const live = new Set<ChildProcess>();
  const groups = new Set<number>();
  // `spawn` is Node's, undocumented in the types: every async child_process API calls it.
  const proto = ChildProcess.prototype as unknown as { spawn: (this: ChildProcess, options: SpawnOptions) => unknown };
  const original = proto.spawn;
  proto.spawn = function spawn(this: ChildProcess, options: SpawnOptions) {
    if (Atomics.load(over, 0) === OVER) {
      throw Object.assign(new Error("taskhost: no run is in progress here (it ended, timed out or was stopped): a process started now would belong to no run"), {
        code: "ERR_TASKHOST_RUN_OVER",
      });
    }
    // A group of its own: ending the run reaches the child's own children too
    // (`sh -c "sleep 1000 &"` leaves `sleep` in sh's group after sh exits).
    if (options && typeof options === "object") options.detached = true;
    const result = original.call(this, options);
    const pid = this.pid;
    if (pid !== undefined) {
      live.add(this);
      groups.add(pid);
      this.once("exit", () => live.delete(this));
      post(port, { type: "child.started", pid, pgid: pid });
    }
    return result;
  };

  // process.exit() ends the thread without another turn of its loop: end the children
  // first, synchronously, so the thread's teardown still reaps them.
  const exit = process.exit.bind(process);
  process.exit = ((code?: number) => {
    endChildrenNow(groups, [...live].map((child) => child.pid!));
    return exit(code);
  }) as typeof process.exit;

  port.on("message", (message: RunChildrenMessage) => {
    if (message?.type !== "children.end") return;
    void endChildren(live, groups, message.graceMs).then((killed) => {
      post(port, { type: "children.ended", killed });
      ended();
    });
  });
  return () => groups.size > 0;
}

/**
 * SIGTERM to every group the run started, SIGKILL to what is left after
 * `graceMs`; resolves once every direct child has exited (reaped by this
 * loop). Returns how many groups had to be killed.
 */
async function endChildren(live: Set<ChildProcess>, groups: Set<number>, graceMs: number): Promise<number> {
  if (groups.size === 0) return 0;
  for (const pgid of groups) signalGroup(pgid, "SIGTERM");
  await allExited(live, graceMs, () => [...groups].every((pgid) => !groupAlive(pgid)));
  let killed = 0;
  for (const pgid of groups) if (signalGroup(pgid, "SIGKILL")) killed++;
  await allExited(live, KILL_WAIT_MS, () => true);
  groups.clear();
  return killed;
}

/** endChildren() for a thread that cannot wait for events: it sleeps between looks. */
function endChildrenNow(groups: Set<number>, pids: number[]): void {
  if (groups.size === 0) return;
  for (const pgid of groups) signalGroup(pgid, "SIGTERM");
  sleepUntil(() => pids.every((pid) => !isProcessAlive(pid)), 250);
  for (const pgid of groups) signalGroup(pgid, "SIGKILL");
  sleepUntil(() => pids.every((pid) => !isProcessAlive(pid)), KILL_WAIT_MS);
}

/** Blocks this thread (Atomics.wait: workers may) until `done()` or `ms` passed. */
function sleepUntil(done: () => boolean, ms: number): void {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) Atomics.wait(cell, 0, 0, 10);
}

/** Resolves when no direct child is left and `done()` holds, or after `ms`. */
function allExited(live: Set<ChildProcess>, ms: number, done: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve) => {
    const check = () => {
      if ((live.size === 0 && done()) || Date.now() >= deadline) resolve();
      else setTimeout(check, 20);
    };
    check();
  });
}

/** Whether the group still has a member (one not yet reaped counts; the loop reaps ours at once). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True when the signal reached someone. */
function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // the group is gone
  }
}

function post(port: MessagePort, message: RunChildrenMessage): void {
  try {
    port.postMessage(message);
  } catch {
    // The host let go of this thread already.
  }
}

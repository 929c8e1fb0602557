/**
 * The processes a run starts, seen from the host (issue 10.4): their process
 * groups are recorded as the worker reports them, and ending the run ends them.
 * See run-children.ts for the worker's side.
 */
import type { Worker } from "node:worker_threads";
import { setRunOver, type RunChildrenMessage, type RunOverFlag } from "./run-children.ts";
import { isProcessAlive } from "../util/is-process-alive.ts";

/** SIGTERM to SIGKILL for what a finished run left running. */
export const CHILD_GRACE_MS = 1000;
/** Past the worker's own grace and kill wait, the host stops waiting for its answer. */
export const ANSWER_MS = CHILD_GRACE_MS + 2000;
/** How long a SIGKILLed child is given to die. */
const KILL_WAIT_MS = 1000;

export interface RunChildren {
  /**
   * Ends every process the run started and resolves once the worker reaped
   * them, so terminating the thread leaves no zombie. A worker that cannot
   * answer (stuck in a synchronous loop, or already gone) gets its groups
   * SIGKILLed by the host instead: those children cannot be reaped, and stay
   * zombies until the host process exits.
   */
  end(): Promise<{ groups: number; unreaped: boolean }>;
}

export function watchRunChildren(worker: Worker, over: RunOverFlag): RunChildren {
  const groups = new Set<number>();
  let answered: (() => void) | null = null;
  let gone = false;
  /** Past the worker's answer (or with nothing to ask): a group reported now (its spawn was under way as the flag was set) is killed at once. */
  let killLate = false;
  worker.on("message", (message: RunChildrenMessage) => {
    if (message?.type === "child.started") {
      groups.add(message.pgid);
      if (killLate) killGroup(message.pgid);
    } else if (message?.type === "children.ended") answered?.();
  });
  worker.once("exit", () => {
    gone = true;
    answered?.();
  });
  // An error event means the thread is already ending (an uncaught error, its heap
  // limit): it will not answer. Children killed now may still die before its teardown
  // is over, which reaps them; the later, the likelier they stay zombies.
  worker.once("error", () => {
    gone = true;
    killLate = true;
    for (const pgid of groups) killGroup(pgid);
    answered?.();
  });
  let ending: Promise<{ groups: number; unreaped: boolean }> | null = null;
  return {
    end: () =>
      (ending ??= (async () => {
        // From now on the run's spawns throw: a loop of them ends, and nothing starts that the host misses.
        setRunOver(over, true);
        if (groups.size === 0) {
          killLate = true;
          return { groups: 0, unreaped: false };
        }
        let replied = false;
        if (!gone) {
          const reply = new Promise<void>((resolve) => (answered = resolve));
          const timer = new Promise<void>((resolve) => setTimeout(resolve, ANSWER_MS).unref());
          try {
            worker.postMessage({ type: "children.end", graceMs: CHILD_GRACE_MS } satisfies RunChildrenMessage);
          } catch {
            // The thread is going; the timer below decides.
          }
          await Promise.race([reply.then(() => (replied = !gone)), timer]);
        }
        killLate = true;
        if (!replied) await killGroupsAndWait(groups);
        return { groups: groups.size, unreaped: !replied };
      })()),
  };
}

/**
 * SIGKILLs every group and waits (up to a second) for them to die: dead before
 * the thread is terminated, their SIGCHLD is still handled while its loop
 * closes (which reaps them); one that dies after stays a zombie.
 */
export async function killGroupsAndWait(groups: Iterable<number>): Promise<void> {
  const pgids = [...groups];
  for (const pgid of pgids) killGroup(pgid);
  await untilDead(pgids, KILL_WAIT_MS);
}

/** Resolves once none of `pids` runs (each gone, or a zombie waiting to be reaped), or after `ms`. */
async function untilDead(pids: number[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (pids.some(isProcessAlive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

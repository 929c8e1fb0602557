import { mkdir, open, readFile, unlink } from "node:fs/promises";
import path from "node:path";
import { isProcessAlive } from "../util/is-process-alive.ts";

export { ERR_HOST_RUNNING } from "../errors.ts";
import { ERR_HOST_RUNNING } from "../errors.ts";

export interface HostLock {
  readonly pid: number;
  /** Removes the PID file if it is still ours; safe to call twice. */
  release(): Promise<void>;
}

/**
 * One host per project: the PID file is created exclusively (O_EXCL), so two
 * starts racing cannot both win. A PID file whose process is gone (crash,
 * kill -9, reboot) is stale and taken over.
 */
export async function acquireHostLock(pidFile: string, pid = process.pid, why = ""): Promise<HostLock> {
  // The data folder is the host's alone: 0700 when taskhost makes it (issue 10.10).
  await mkdir(path.dirname(pidFile), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(pidFile, "wx", 0o644);
      await handle.writeFile(`${pid}\n`);
      await handle.sync();
      await handle.close();
      let released = false;
      return {
        pid,
        release: async () => {
          if (released) return;
          released = true;
          if ((await readLockPid(pidFile)) === pid) await unlink(pidFile).catch(() => {});
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = await runningHostPid(pidFile);
      if (holder != null) {
        throw Object.assign(
          new Error(
            `taskhost: a host is already running for this project (pid ${holder}, lock ${pidFile}).${why} ` +
              `Use \`npx taskhost status\` to see it, or stop it with \`kill ${holder}\`.`,
          ),
          { code: ERR_HOST_RUNNING, pid: holder },
        );
      }
      await unlink(pidFile).catch(() => {});
    }
  }
  throw new Error(`taskhost: could not take the lock ${pidFile}; remove it if no host is running`);
}

/** The PID of the live host holding the lock, or null when there is none (or it is stale). */
export async function runningHostPid(pidFile: string): Promise<number | null> {
  const pid = await readLockPid(pidFile);
  if (pid == null || !isProcessAlive(pid)) return null;
  // After a reboot the PID may belong to an unrelated process.
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => null);
  if (cmdline != null && !/taskhost|node/.test(cmdline)) return null;
  return pid;
}

async function readLockPid(pidFile: string): Promise<number | null> {
  const text = await readFile(pidFile, "utf8").catch(() => null);
  const pid = text == null ? NaN : Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}


/**
 * For a host started by a supervisor: the supervisor holds the lock, and the
 * host only checks that the PID file still names it (so a stray host started
 * by hand cannot slip in beside a running one).
 */
export async function supervisedLock(pidFile: string, supervisorPid: number): Promise<HostLock> {
  const holder = await readLockPid(pidFile);
  if (holder !== supervisorPid) {
    throw Object.assign(
      new Error(`taskhost: the lock ${pidFile} names pid ${holder ?? "none"}, not this host's supervisor (pid ${supervisorPid}); start the host with \`taskhost start\``),
      { code: ERR_HOST_RUNNING },
    );
  }
  return { pid: supervisorPid, release: async () => {} };
}

/** The project's own lock, beside the PID file of a sql.js ledger's (see acquireLocks). */
export function projectLockFile(projectRoot: string): string {
  return path.join(projectRoot, "data", "project.lock");
}

/**
 * The lock a host holds: the one beside its ledger, and with a sql.js ledger
 * the project's too (data/project.lock), so that a second host whose
 * database.path moved its ledger (and so its lock) elsewhere cannot run the
 * same tasks on a ledger of its own: every occurrence would run twice. Hosts
 * on one database.url share the work and take none.
 */
export async function acquireLocks(
  ctx: { projectRoot: string; pidFile: string; sharedLedger: boolean },
  pid = process.pid,
): Promise<HostLock> {
  const own = await acquireHostLock(ctx.pidFile, pid);
  const projectFile = projectLockFile(ctx.projectRoot);
  if (ctx.sharedLedger) return own;
  let project: HostLock;
  try {
    project = await acquireHostLock(projectFile, pid, " It runs this project's tasks on a sql.js ledger of its own (database.path); a second one would run every occurrence again.");
  } catch (error) {
    await own.release();
    throw error;
  }
  return {
    pid,
    release: async () => {
      await project.release();
      await own.release();
    },
  };
}

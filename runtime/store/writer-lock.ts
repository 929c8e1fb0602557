/**
 * The ledger's writer lock: one process at a time may write a sql.js ledger
 * file, and it holds this lock for as long as it can write (from before it
 * reads the file until its last snapshot is on disk).
 *
 * Node has no flock(), so the lock is a listening Unix socket in Linux's
 * abstract namespace, named after the ledger's real path: binding the name is
 * atomic (a second bind fails with EADDRINUSE), and the kernel releases it
 * when the process dies, even by kill -9, with no file left to go stale. The
 * socket is close-on-exec, so child processes (npm) never inherit it. Anyone
 * may connect to ask who holds it: the holder answers with its pid. The name
 * also hashes a random key kept beside the ledger (`<ledger>.lock-key`, 0600),
 * since abstract names have no permissions: another user who cannot read it
 * cannot take the name first.
 *
 * What it does not cover: abstract names are per network namespace, so two
 * processes in different network namespaces (two containers sharing the data
 * volume but not the network) or on different machines (a network file
 * system) do not see each other's lock. Elsewhere than Linux there is no
 * abstract namespace: the socket is a file `<ledger>.lock` that a dead holder
 * leaves behind; it is taken over when nobody answers on it (two starts racing
 * for a dead holder's file could both think they won).
 */
import { createHash, randomBytes } from "node:crypto";
import { link, mkdir, readFile, realpath, unlink, writeFile } from "node:fs/promises";
import { createConnection, createServer, type Server } from "node:net";
import { basename, dirname, join } from "node:path";
import { taskhostError } from "../errors.ts";
import { PRIVATE_FILE } from "./atomic-write-file.ts";

export interface WriterLock {
  /** The socket name (abstract: starts with a NUL byte). */
  readonly name: string;
  /** Lets go of the lock; memoized. */
  release(): Promise<void>;
}

export interface LockHolder {
  pid: number;
  /** When it took the lock (epoch ms). */
  since: number;
}

export interface WriterLockOptions {
  /** How long to wait for a holder to let go; 0 refuses at once. */
  waitMs: number;
  /** Called once when the lock is held by someone else and we start waiting. */
  onWait?: (holder: LockHolder | null) => void;
}

const POLL_MS = 100;
const ASK_TIMEOUT_MS = 1000;

/** Takes the writer lock of the ledger at `ledgerPath` (creating its directory), waiting up to `waitMs`. */
export async function acquireWriterLock(ledgerPath: string, options: WriterLockOptions): Promise<WriterLock> {
  const name = await lockName(ledgerPath);
  const deadline = Date.now() + options.waitMs;
  let waiting = false;
  for (;;) {
    const server = await tryListen(name);
    if (server) return heldLock(name, server);
    const holder = await askHolder(name);
    if (holder === null && process.platform !== "linux") {
      // A socket file nobody answers on: its holder is gone.
      await unlink(name).catch(() => undefined);
      continue;
    }
    if (Date.now() >= deadline) {
      const who = holder ? `process ${holder.pid} (holding it since ${new Date(holder.since).toISOString()})` : "another process";
      throw taskhostError(
        "ERR_DB_LOCKED",
        `taskhost ledger: ${ledgerPath} is being written by ${who}, which holds its writer lock` +
          `${options.waitMs > 0 ? ` and did not let go within ${Math.round(options.waitMs / 1000)} s` : ""}. ` +
          `A host that is stopping keeps it until its runs end (scheduler.shutdown_grace); wait for ` +
          `${holder ? `pid ${holder.pid}` : "it"} to exit${holder ? ` (or stop it: kill ${holder.pid})` : ""}, then try again.`,
        { holder },
      );
    }
    if (!waiting) {
      waiting = true;
      options.onWait?.(holder);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
  }
}

/** Who holds the lock of the ledger at `ledgerPath` now, or null when nobody (or nobody answering). */
export async function writerLockHolder(ledgerPath: string): Promise<LockHolder | null> {
  return askHolder(await lockName(ledgerPath));
}

async function lockName(ledgerPath: string): Promise<string> {
  const directory = dirname(ledgerPath);
  // 0700: the ledger's folder is the host's alone (only applies to folders made here).
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const real = join(await realpath(directory), basename(ledgerPath));
  if (process.platform !== "linux") return `${real}.lock`;
  // Any local user may bind any abstract name: with a secret only the ledger's owner can
  // read in the name, nobody else can squat it to keep the host from starting.
  const key = await lockKey(`${real}.lock-key`);
  return `\0taskhost-ledger-${createHash("sha256").update(`${key}\n${real}`).digest("hex").slice(0, 40)}`;
}

const KEY_PATTERN = /^[0-9a-f]{32}$/;

/** The ledger's lock secret (`<ledger>.lock-key`, 0600), made once; two processes making it at once agree on one. */
async function lockKey(keyPath: string): Promise<string> {
  const read = async () => {
    const text = await readFile(keyPath, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw keyError(keyPath, error);
    });
    if (text !== undefined && !KEY_PATTERN.test(text.trim())) {
      throw taskhostError("ERR_DB_WRITE", `taskhost ledger: ${keyPath} is damaged; remove it while no taskhost process runs, and start again.`);
    }
    return text?.trim();
  };
  const existing = await read();
  if (existing !== undefined) return existing;
  // Written whole under a temporary name, then linked into place: link fails if another
  // process got there first, and nobody ever reads a half-written key.
  const temp = `${keyPath}.new-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await writeFile(temp, `${randomBytes(16).toString("hex")}\n`, { mode: PRIVATE_FILE, flag: "wx" });
    await link(temp, keyPath).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "EEXIST") throw error;
    });
  } catch (error) {
    throw keyError(keyPath, error as Error);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  return (await read())!;
}

function keyError(keyPath: string, error: Error): Error {
  return taskhostError("ERR_DB_WRITE", `taskhost ledger: cannot set up the writer lock's key ${keyPath} (${error.message}).`, { cause: error });
}

function tryListen(name: string): Promise<Server | null> {
  const since = Date.now();
  const server = createServer((socket) => {
    socket.on("error", () => socket.destroy());
    socket.end(`${JSON.stringify({ pid: process.pid, since })}\n`);
  });
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") resolve(null);
      else reject(taskhostError("ERR_DB_WRITE", `taskhost ledger: cannot take the writer lock ${printable(name)} (${error.message}).`, { cause: error }));
    });
    server.listen({ path: name }, () => {
      // The lock must not keep the process alive, nor outlive it.
      server.unref();
      resolve(server);
    });
  });
}

function heldLock(name: string, server: Server): WriterLock {
  let released: Promise<void> | undefined;
  return {
    name,
    release: () =>
      (released ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
      })),
  };
}

function askHolder(name: string): Promise<LockHolder | null> {
  return new Promise((resolve) => {
    let text = "";
    const socket = createConnection({ path: name });
    const done = (holder: LockHolder | null) => {
      socket.destroy();
      clearTimeout(timer);
      resolve(holder);
    };
    const timer = setTimeout(() => done(null), ASK_TIMEOUT_MS);
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (text += chunk));
    socket.on("end", () => {
      try {
        const { pid, since } = JSON.parse(text) as LockHolder;
        done(Number.isInteger(pid) ? { pid, since } : null);
      } catch {
        done(null);
      }
    });
    socket.on("error", () => done(null));
  });
}

function printable(name: string): string {
  return name.startsWith("\0") ? `@${name.slice(1)}` : name;
}

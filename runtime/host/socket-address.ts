/**
 * The control socket's folder and address (issue 10.7). The socket lives in a
 * folder of the project's (`data/control/`) that the host creates with mode
 * 0700 and checks before every start: a real folder, not a link, owned by the
 * host's user, closed to everyone else. No fallback to /tmp, where another user
 * could take the name first and answer (or block) the host's commands.
 *
 * A Unix socket's path is limited to 107 bytes (103 on macOS). A deeper one is
 * reached on Linux through the folder's file descriptor,
 * `/proc/self/fd/<fd>/taskhost.sock`, which the kernel resolves to the same
 * file; elsewhere such a path is refused with what to do.
 */
import { closeSync, constants, existsSync, lstatSync, mkdirSync, chmodSync, openSync } from "node:fs";
import path from "node:path";
import { taskhostError } from "../errors.ts";

/** sun_path is 108 bytes on Linux (104 on macOS), the terminating NUL included. */
export const MAX_SOCKET_PATH = 100;

const PRIVATE_MODE = 0o700;

/**
 * Creates the socket folder owner-only if missing; checks it otherwise. A
 * folder of ours that others may enter is closed (chmod 0700); one that is a
 * link or another user's is refused, naming it.
 */
export function preparePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_MODE });
  const stat = lstatSync(dir);
  const uid = process.geteuid?.();
  const refuse = (why: string) =>
    taskhostError(
      "ERR_CONTROL_SOCKET",
      `control socket: ${dir} ${why}; the host keeps its control socket only in a folder of its own user with mode 0700 — remove ${dir} and start again`,
      { path: dir },
    );
  if (stat.isSymbolicLink()) throw refuse("is a symbolic link");
  if (!stat.isDirectory()) throw refuse("is not a folder");
  if (uid !== undefined && stat.uid !== uid) throw refuse(`belongs to uid ${stat.uid}, not to this host's user (uid ${uid})`);
  if ((stat.mode & 0o077) !== 0) chmodSync(dir, PRIVATE_MODE);
}

export interface SocketAddress {
  /** What to pass to listen() or connect(). */
  readonly path: string;
  /** Releases the folder's descriptor (after close(), for a server: the socket is unlinked through it). */
  release(): void;
}

/** The path to bind or connect the socket at `socketPath` by; throws ENOENT when its folder is missing. */
export function socketAddress(socketPath: string): SocketAddress {
  if (socketPath.length <= MAX_SOCKET_PATH) return { path: socketPath, release: () => {} };
  if (process.platform !== "linux" || !existsSync("/proc/self/fd")) {
    throw taskhostError(
      "ERR_CONTROL_SOCKET",
      `control socket: ${socketPath} is ${socketPath.length} characters, longer than a socket path may be on this system; ` +
        "move the project, or set database.path to a shorter folder (the socket lives beside the ledger)",
    );
  }
  const fd = openSync(path.dirname(socketPath), constants.O_RDONLY | constants.O_DIRECTORY);
  let open = true;
  return {
    path: `/proc/self/fd/${fd}/${path.basename(socketPath)}`,
    release: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

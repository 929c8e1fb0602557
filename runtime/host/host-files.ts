import path from "node:path";

/** Where a project's host keeps its PID/lock file, control socket and caches. */
export interface HostFiles {
  dataDir: string;
  pidFile: string;
  /** The private folder (mode 0700, the host's user's) that holds the control socket. */
  socketDir: string;
  socket: string;
  cacheDir: string;
}

/**
 * The control socket always lives in `data/control/`, a folder the host
 * creates owner-only and checks (socket-address.ts), never under a guessable
 * name in a world-writable folder like /tmp (issue 10.7): a deep project path
 * is reached through the folder's file descriptor instead of a shorter path.
 */
export function hostFiles(dataDir: string): HostFiles {
  const socketDir = path.join(dataDir, "control");
  return {
    dataDir,
    pidFile: path.join(dataDir, "taskhost.pid"),
    socketDir,
    socket: path.join(socketDir, "taskhost.sock"),
    cacheDir: path.join(dataDir, "cache"),
  };
}

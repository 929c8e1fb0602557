import { createHash } from "node:crypto";
import os from "node:os";
import path from "node:path";

/** Where a project's host keeps its PID/lock file, control socket and caches. */
export interface HostFiles {
  dataDir: string;
  pidFile: string;
  socket: string;
  cacheDir: string;
}

// sun_path is 108 bytes on Linux (104 on macOS); deep project paths need a fallback.
const MAX_SOCKET_PATH = 100;

export function hostFiles(dataDir: string): HostFiles {
  const preferred = path.join(dataDir, "taskhost.sock");
  const socket =
    preferred.length <= MAX_SOCKET_PATH
      ? preferred
      : path.join(os.tmpdir(), `taskhost-${createHash("sha1").update(dataDir).digest("hex").slice(0, 16)}.sock`);
  return {
    dataDir,
    pidFile: path.join(dataDir, "taskhost.pid"),
    socket,
    cacheDir: path.join(dataDir, "cache"),
  };
}

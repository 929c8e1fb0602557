import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * Writes a file so that readers see either the old or the new content, never
 * half of it: a temporary file in the same folder, fsynced, renamed over the
 * target, then the folder fsynced. The file keeps its existing permissions
 * (`mode` applies to a new file; default 0o644).
 *
 * @example
 * writeFileAtomic("data/reports/today.csv", csvText);
 */
export function writeFileAtomic(file: string, content: string | Uint8Array, options: { mode?: number } = {}): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true });
  let mode = options.mode ?? 0o644;
  try {
    mode = statSync(file).mode & 0o7777;
  } catch {
    // A new file.
  }
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fd = openSync(tmp, "wx", mode);
    try {
      writeFileSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
  try {
    const dirFd = openSync(dir, "r");
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // Some file systems cannot fsync a directory; the rename is still atomic.
  }
}

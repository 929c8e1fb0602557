/**
 * Keeps `logs/tasks.log` (etc.) pointing at the rotated file pino-roll writes
 * now. pino-roll's own `symlink` option always names the link `current.log`,
 * which three streams sharing one directory would fight over, so each stream
 * keeps its own link here.
 */
import fs from "node:fs";
import path from "node:path";

/**
 * Points `linkPath` at `target` with a *relative* symlink (the project
 * directory may be moved), replacing the old link atomically: a new link is
 * made beside it and renamed over it, so `tail -F` never sees the name missing.
 * Synchronous on purpose: it runs once per roll, and callers rely on the link
 * being right as soon as it returns.
 */
export function pointLink(linkPath: string, target: string): void {
  const dir = path.dirname(linkPath);
  // A dot-name ending in ".tmp": pino-roll's file numbering and retention both ignore it.
  const tmp = path.join(dir, `.${path.basename(linkPath)}.${process.pid}.tmp`);
  fs.rmSync(tmp, { force: true });
  try {
    fs.symlinkSync(path.relative(dir, target), tmp);
  } catch (error) {
    // Symlinks can need privileges (Windows); a hard link reaches the same file.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") throw error;
    fs.linkSync(target, tmp);
  }
  moveAsideRegularFile(linkPath);
  fs.renameSync(tmp, linkPath);
}

/**
 * A plain file at the link's path (e.g. from before rotation was set up) holds
 * real log lines: keep them under a name that pino-roll neither numbers from
 * nor deletes (no trailing digits, no number segment).
 */
function moveAsideRegularFile(linkPath: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(linkPath);
  } catch {
    return;
  }
  if (!stat.isFile()) return;
  const stamp = new Date().toISOString().replace(/[-:.]/g, "");
  const ext = path.extname(linkPath);
  fs.renameSync(linkPath, `${linkPath.slice(0, linkPath.length - ext.length)}.saved-${stamp}${ext}`);
}

/**
 * Removes `linkPath` when it is a symlink to a file that no longer exists.
 * pino-roll stats every file in the directory when it starts and quietly
 * restarts its numbering at 1 if any stat fails, so a dangling link would make
 * it append to an old file.
 */
export function removeDanglingLink(linkPath: string): void {
  try {
    if (!fs.lstatSync(linkPath).isSymbolicLink()) return;
  } catch {
    return;
  }
  if (!fs.existsSync(linkPath)) fs.rmSync(linkPath, { force: true });
}

/**
 * Replace a file so that a reader (or the next start after a crash or power
 * loss) sees either the whole old content or the whole new content, never a
 * mix or a truncated file.
 *
 * The recipe: write a sibling temp file, fsync it (so its bytes are on disk
 * before the name points at them), rename it over the target (atomic on POSIX
 * within one directory), then fsync the directory (so the rename itself
 * survives a power loss).
 */
import { open, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";

/** Distinguishes concurrent writes from one process to the same path. */
let tempCounter = 0;

/** Marker in temp file names; `isAtomicTempFileOf` relies on the same shape. */
const TEMP_INFIX = ".tmp-";

/** Mode of the ledger's files: they hold task output and state, which may be secrets (issue 10.10). */
export const PRIVATE_FILE = 0o600;

/** `mode` applies to the new file (the umask may only take bits away). */
export async function atomicWriteFile(path: string, data: Uint8Array, mode = 0o666): Promise<void> {
  tempCounter += 1;
  const tempPath = `${path}${TEMP_INFIX}${process.pid}-${tempCounter}`;
  try {
    // "wx": never follow or reuse something already at the temp name.
    const handle = await open(tempPath, "wx", mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tempPath, path);
  } catch (error) {
    await unlink(tempPath).catch(() => undefined);
    throw error;
  }
  await fsyncDirectory(dirname(path));
}

/**
 * Parses a leftover temp name of `path` (as written by `atomicWriteFile`) and
 * returns the pid that wrote it, or undefined if `name` is not one. A process
 * killed between open and rename leaves such a file behind; the owner of
 * `path` can remove those whose writer is gone.
 */
export function atomicTempFileWriterPid(path: string, candidatePath: string): number | undefined {
  const prefix = `${path}${TEMP_INFIX}`;
  if (!candidatePath.startsWith(prefix)) return undefined;
  const match = /^(\d+)-\d+$/.exec(candidatePath.slice(prefix.length));
  return match ? Number(match[1]) : undefined;
}

export async function fsyncDirectory(directory: string): Promise<void> {
  let handle;
  try {
    handle = await open(directory, "r");
    await handle.sync();
  } catch (error) {
    // Some platforms (Windows) and file systems cannot open or fsync a
    // directory; the rename is still atomic there, only its durability across
    // a power cut is weaker. Everything else is a real failure.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EISDIR" && code !== "EPERM" && code !== "EINVAL" && code !== "EBADF") throw error;
  } finally {
    await handle?.close();
  }
}

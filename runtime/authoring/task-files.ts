/**
 * Reads and writes task files for the dashboard and `taskhost new`. Every
 * write is atomic (temp file, fsync, rename) and conditional: it names the
 * version (a hash of the content) it was based on, and is refused with
 * ERR_CONFLICT when the file changed on disk since. Deleting moves the file to
 * `tasks/.trash/`, from where it can be restored. Hot reload does the rest.
 */
import { createHash } from "node:crypto";
import { chmod, link, lstat, mkdir, readdir, readFile, rename, unlink } from "node:fs/promises";
import path from "node:path";
import { atomicWriteFile, fsyncDirectory } from "../store/atomic-write-file.ts";
import { taskhostError } from "../errors.ts";
import { checkExistingTaskId, checkTaskId, pathInTasks, TRASH_DIR } from "./task-paths.ts";

export interface TaskFileText {
  id: string;
  /** Absolute. */
  file: string;
  source: string;
  /** Pass back to write: the write is refused if the file changed since. */
  version: string;
}

export interface TrashedFile {
  /** File name under tasks/.trash/ (with its folders), the handle for restore. */
  name: string;
  id: string;
  deletedAt: string;
}

/** Maximum size of a task file written from a form. */
const MAX_SOURCE_BYTES = 512 * 1024;

export function versionOf(source: string): string {
  return createHash("sha256").update(source).digest("hex");
}

/** `2026-12-01T09:00:00.123Z` -> `20261201T090000123Z`, a trash file's suffix. */
const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:.]/g, "");

export class TaskFiles {
  /** One write at a time per file, so check-then-write holds within this process. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(readonly dir: string) {}

  /** `fresh`: an id for a new file, held to the strict shape a form may give; else one a file has already. */
  private async fileOf(id: string, fresh = false): Promise<string> {
    return pathInTasks(this.dir, `${fresh ? checkTaskId(id) : checkExistingTaskId(id)}.ts`);
  }

  private serial<T>(file: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(file) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => work().catch((error: unknown) => Promise.reject(unwritable(error, this.dir))));
    this.queues.set(file, next);
    void next.catch(() => {}).then(() => this.queues.get(file) === next && this.queues.delete(file));
    return next;
  }

  async read(id: string): Promise<TaskFileText> {
    const file = await this.fileOf(id);
    const info = await lstat(file).catch(() => null);
    if (!info?.isFile()) {
      throw taskhostError("ERR_NOT_FOUND", info?.isSymbolicLink() ? `tasks/${id}.ts is a symbolic link; edit it where it points` : `no task file tasks/${id}.ts`);
    }
    const source = await readFile(file, "utf8");
    return { id, file, source, version: versionOf(source) };
  }

  /** Writes a new task file; ERR_CONFLICT when one exists already. */
  async create(id: string, source: string): Promise<TaskFileText> {
    const file = await this.fileOf(id, true);
    checkSize(source);
    return this.serial(file, async () => {
      await mkdir(path.dirname(file), { recursive: true });
      const temp = path.join(path.dirname(file), `.${path.basename(file)}.new-${process.pid}-${Date.now()}`);
      await atomicWriteFile(temp, Buffer.from(source));
      try {
        // link() fails when the name is taken: a create never replaces a file.
        await link(temp, file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") throw taskhostError("ERR_CONFLICT", `tasks/${id}.ts exists already; pick another id or edit that task`);
        throw error;
      } finally {
        await unlink(temp).catch(() => {});
      }
      await fsyncDirectory(path.dirname(file));
      return { id, file, source, version: versionOf(source) };
    });
  }

  /** Replaces a task file's content if it is still at `expectedVersion`. */
  async replace(id: string, source: string, expectedVersion: string): Promise<TaskFileText> {
    const file = await this.fileOf(id);
    checkSize(source);
    return this.serial(file, async () => {
      const current = await this.read(id);
      if (current.version !== expectedVersion) throw changedOnDisk(id);
      const mode = (await lstat(file)).mode & 0o777;
      await atomicWriteFile(file, Buffer.from(source));
      await chmod(file, mode);
      return { id, file, source, version: versionOf(source) };
    });
  }

  /** Moves the file to tasks/.trash/ if it is still at `expectedVersion`. */
  async trash(id: string, expectedVersion: string): Promise<TrashedFile> {
    const file = await this.fileOf(id);
    return this.serial(file, async () => {
      const current = await this.read(id);
      if (current.version !== expectedVersion) throw changedOnDisk(id);
      const now = Date.now();
      const name = `${id}~${stamp(now)}.ts`;
      const target = await pathInTasks(this.dir, `${TRASH_DIR}/${name}`);
      await mkdir(path.dirname(target), { recursive: true });
      await rename(file, target);
      await fsyncDirectory(path.dirname(file));
      return { name, id, deletedAt: new Date(now).toISOString() };
    });
  }

  /** Deleted task files, newest first. */
  async listTrash(): Promise<TrashedFile[]> {
    const root = path.join(this.dir, TRASH_DIR);
    const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
    const out: TrashedFile[] = [];
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const parent = (entry as { parentPath?: string }).parentPath ?? (entry as unknown as { path: string }).path;
      const name = path.relative(root, path.join(parent, entry.name)).split(path.sep).join("/");
      const parsed = parseTrashName(name);
      if (parsed) out.push({ name, ...parsed });
    }
    return out.sort((a, b) => b.deletedAt.localeCompare(a.deletedAt));
  }

  /** Brings a deleted file back to tasks/<id>.ts; ERR_CONFLICT when a task has that id again. */
  async restore(name: string): Promise<TaskFileText> {
    const parsed = parseTrashName(name);
    if (!parsed) throw taskhostError("ERR_NOT_FOUND", `no deleted task file ${JSON.stringify(name)} in tasks/${TRASH_DIR}/`);
    const source = await pathInTasks(this.dir, `${TRASH_DIR}/${name}`);
    const file = await this.fileOf(parsed.id);
    return this.serial(file, async () => {
      await mkdir(path.dirname(file), { recursive: true });
      try {
        await link(source, file);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EEXIST") throw taskhostError("ERR_CONFLICT", `tasks/${parsed.id}.ts exists again; rename or delete it before restoring`);
        if (code === "ENOENT") throw taskhostError("ERR_NOT_FOUND", `no deleted task file ${JSON.stringify(name)} in tasks/${TRASH_DIR}/`);
        throw error;
      }
      await unlink(source);
      await fsyncDirectory(path.dirname(file));
      return this.read(parsed.id);
    });
  }
}

function parseTrashName(name: string): { id: string; deletedAt: string } | null {
  const m = /^(.+)~(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z\.ts$/.exec(name);
  if (!m) return null;
  try {
    return { id: checkExistingTaskId(m[1]), deletedAt: `${m[2]}-${m[3]}-${m[4]}T${m[5]}:${m[6]}:${m[7]}.${m[8]}Z` };
  } catch {
    return null;
  }
}

/** A tasks folder the host may not write (the systemd unit's sandbox, permissions): what to do about it. */
function unwritable(error: unknown, dir: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== "EROFS" && code !== "EACCES" && code !== "EPERM") return error;
  return taskhostError(
    "ERR_FORBIDDEN",
    `the host cannot write its tasks folder ${dir} (${code}${code === "EROFS" ? ": a read-only file system" : ": permission denied"}). ` +
      "Under the systemd unit of scripts/install.sh it is read-only unless the unit was made with --writable-tasks (or with dashboard.enabled: true in config/config.yaml): run install.sh again; " +
      "otherwise give the host's user write permission on it",
  );
}

function changedOnDisk(id: string) {
  return taskhostError("ERR_CONFLICT", `tasks/${id}.ts changed on disk since it was loaded; reload it, then make the change again`);
}

function checkSize(source: string): void {
  if (Buffer.byteLength(source) > MAX_SOURCE_BYTES) throw taskhostError("ERR_PAYLOAD_TOO_LARGE", `a task file written from here may be at most ${MAX_SOURCE_BYTES / 1024} KB`);
}

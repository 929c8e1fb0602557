import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { isCode } from "../errors.ts";
import type { Ledger } from "../store/ledger.ts";
import type { LoadedTask } from "../task-file/loaded-task.ts";
import { loadTask, TaskLoadError } from "../task-file/load-task.ts";
import { isTaskFile, taskIdFromPath } from "../task-file/task-id.ts";
import type { Scheduler } from "../scheduler/scheduler.ts";
import type { HostLog } from "../scheduler/scheduler-types.ts";
import type { Toolchain } from "../task-file/toolchain.ts";
import type { DependencyInstaller } from "../deps/install-dependencies.ts";
import { installRetryDelayMs } from "../deps/install-retry.ts";
import { findTaskFiles, symlinkProblem } from "./find-task-files.ts";
import type { IsolationLevel } from "../task-file/task-meta.ts";

export interface TaskEntry {
  readonly id: string;
  /** Absolute path. */
  readonly file: string;
  readonly relFile: string;
  /** The version that runs: the last one that loaded, even after a broken save. */
  loaded: LoadedTask | null;
  /** Why the file on disk is not (or no longer) what runs. */
  error: string | null;
  title: string;
  /** Hash of the task file's text as last loaded (good or bad): an unchanged save is no reload. */
  sourceHash: string | null;
  /** Its npm dependencies are being installed. */
  installing: boolean;
  /** The `isolation` its file asks for, as far as its frontmatter was read, while no version of it loaded (null: scheduler.isolation's). */
  fileIsolation: IsolationLevel | null;
  /** Installs of its dependencies that failed in a row for this text of the file (install-retry.ts). */
  installFailures: number;
  /** When its failed install is tried again on its own (ms), else null. Kept out of `error`, which stays the same from one failure to the next (one `error` alert). */
  installRetryAt: number | null;
}

/** The task's error as status and the dashboard show it: with when its install is tried again. */
export function shownError(entry: Pick<TaskEntry, "error" | "installRetryAt">): string | null {
  if (entry.error == null || entry.installRetryAt == null) return entry.error;
  const seconds = Math.max(0, Math.round((entry.installRetryAt - Date.now()) / 1000));
  const wait = seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
  return `${entry.error}\ntaskhost tries the install again at ${new Date(entry.installRetryAt).toISOString()} (in ${wait}); changing the file tries it now`;
}

export interface TaskCatalogOptions {
  projectRoot: string;
  tasksDir: string;
  includeExamples: boolean;
  toolchain: Toolchain;
  defaultZone: string;
  ledger: Ledger;
  scheduler: Scheduler;
  dependencies: DependencyInstaller;
  log: HostLog;
  /** Try a failed install again on a timer (install-retry.ts): a host, not a one-off command. Default false. */
  retryInstalls?: boolean;
}

export interface TaskCatalogEvents {
  /** An entry's loaded version, error, title or `installing` may have changed. */
  "entry.changed": [TaskEntry];
  /** The task's file is gone (or no longer counts as a task). */
  "entry.removed": [string];
}

/** Marks an entry whose file was seen empty once (see load()). */
const EMPTY_PENDING = "empty-pending";

/**
 * How many task files load at once on a start. Each load is mostly waiting (file
 * I/O, esbuild's process, the inspector's workers, which have their own cap), so
 * more than the cores: 1,000 files cold went from 10.3 s at 8 to 7.5 s at 32.
 */
const LOAD_CONCURRENCY = 32;

/** An install stopped because a reload replaced the installer is tried again this soon, with the new one. */
const RELOADED_INSTALLER_MS = 1000;

/**
 * The host's view of the task files: which exist, which version of each runs,
 * and which are broken. Loading builds the replacement first; only a good
 * load replaces what runs.
 */
export class TaskCatalog extends EventEmitter<TaskCatalogEvents> {
  readonly entries = new Map<string, TaskEntry>();
  private options: TaskCatalogOptions;
  /** Notes about the tasks directory already logged: each is said once, not on every scan. */
  private readonly noted = new Set<string>();
  /** Tasks whose failed install is tried again, without a save, when its timer fires. */
  private readonly installRetries = new Map<string, NodeJS.Timeout>();
  /** Each entry's latest load: only its outcome counts. */
  private readonly loadSeq = new WeakMap<TaskEntry, number>();
  private closed = false;

  constructor(options: TaskCatalogOptions) {
    super();
    this.options = { ...options };
  }

  get tasksDir(): string {
    return this.options.tasksDir;
  }

  get includeExamples(): boolean {
    return this.options.includeExamples;
  }

  /** Live config changes (zone, examples, tasks directory) take effect on the next load. */
  configure(changes: Partial<Pick<TaskCatalogOptions, "tasksDir" | "includeExamples" | "defaultZone" | "dependencies">>): void {
    this.options = { ...this.options, ...changes };
  }

  /** Whether an absolute path is a task file under the current rules. */
  isTask(file: string): boolean {
    const rel = path.relative(this.options.tasksDir, file);
    return !rel.startsWith("..") && !path.isAbsolute(rel) && isTaskFile(rel, this.options.includeExamples);
  }

  /**
   * Brings the catalog in line with the tasks directory: loads files not loaded
   * yet (all of them on a cold start, `force` reloads the rest too) and removes
   * tasks whose file is gone or no longer counts as a task. `reread` also reads
   * the loaded files again and reloads those whose text changed: for a folder
   * that went unwatched for a while (tasks.reload_on_change turned back on).
   */
  async scan(options: { force?: boolean; reread?: boolean } = {}): Promise<void> {
    const { files, notes } = await findTaskFiles(this.options.tasksDir, this.options.includeExamples);
    for (const note of notes.filter((n) => !this.noted.has(n))) {
      this.noted.add(note);
      this.options.log.warn({ event: "tasks.skipped", tasksDir: this.options.tasksDir }, note);
    }
    const present = new Set(files.map((file) => taskIdFromPath(this.options.tasksDir, file)));
    for (const [id, entry] of this.entries) {
      if (!present.has(id) || entry.file !== path.join(this.options.tasksDir, `${id}.ts`)) await this.remove(id);
    }
    const loaded = (file: string) => this.entries.has(taskIdFromPath(this.options.tasksDir, file));
    const todo = files.filter((file) => options.force || options.reread || !loaded(file));
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const file = todo[next++]!;
        // A loaded file read again is reloaded only if its text changed (load compares the source hash).
        await this.load(file, { force: options.force || !loaded(file), settled: options.reread === true });
      }
    };
    await Promise.all(Array.from({ length: Math.min(LOAD_CONCURRENCY, todo.length) }, worker));
    // Tasks the ledger knows whose file is gone: unscheduled, their history kept.
    for (const task of await this.options.ledger.listTasks()) {
      if (!this.entries.has(task.id) && task.removedAt == null) await this.options.ledger.markTaskRemoved(task.id, Date.now());
    }
  }

  /** A file a task imports changed: reload exactly the tasks whose bundle includes it (and broken ones, which may need it). */
  async reloadImporters(file: string): Promise<string[]> {
    const affected = [...this.entries.values()].filter((entry) => entry.error != null || entry.loaded?.bundle.inputs.includes(file));
    await Promise.all(affected.map((entry) => this.load(entry.file, { force: true })));
    return affected.map((entry) => entry.id);
  }

  /**
   * Loads (or reloads) one task file. The new version replaces the running one
   * only if it bundled and validated; a broken save leaves the old version
   * running and marks the task with the error. A save that left the text as it
   * was is no reload, unless `force` (a helper it imports changed). `settled`: no save is
   * under way (a rescan), so an empty file is reported now, not after the watcher's next look.
   */
  async load(file: string, { force = false, settled = false }: { force?: boolean; settled?: boolean } = {}): Promise<TaskEntry> {
    const { options } = this;
    const id = taskIdFromPath(options.tasksDir, file);
    const relFile = path.relative(options.projectRoot, file);
    const entry: TaskEntry = this.entries.get(id) ?? {
      id,
      file,
      relFile,
      loaded: null,
      error: null,
      title: defaultTitle(id),
      sourceHash: null,
      installing: false,
      fileIsolation: null,
      installFailures: 0,
      installRetryAt: null,
    };
    this.entries.set(id, entry);
    const linked = await symlinkProblem(file);
    if (linked) return this.refuse(entry, `${relFile} ${linked}`);
    const source = await readFile(file, "utf8").catch(() => null);
    if (source == null) return entry;
    // An empty file is almost always a save caught half-way (truncate, then write): the
    // watcher looks again a moment later. A file that stays empty is reported then.
    if (source.trim() === "" && !force && !settled && entry.sourceHash !== EMPTY_PENDING) {
      entry.sourceHash = EMPTY_PENDING;
      options.log.debug({ event: "task.empty", taskId: id }, `${relFile} is empty for now; waiting for the save to finish`);
      return entry;
    }
    const sourceHash = createHash("sha256").update(source).digest("hex");
    // A save of the same text tries a failed install again (the message says so); else it is no reload.
    if (!force && sourceHash === entry.sourceHash && entry.installFailures === 0) return entry;
    // This load decides anew whether an install is to be tried again; a new text starts the count over.
    this.cancelInstallRetry(id);
    if (sourceHash !== entry.sourceHash) entry.installFailures = 0;
    entry.sourceHash = sourceHash;
    // The file may change again, or go, while this version is built; or a later load of the same text (a retried install) began.
    const seq = (this.loadSeq.get(entry) ?? 0) + 1;
    this.loadSeq.set(entry, seq);
    const superseded = () => entry.sourceHash !== sourceHash || this.entries.get(id) !== entry || this.loadSeq.get(entry) !== seq;
    try {
      const task = await loadTask({
        id,
        file,
        projectRoot: options.projectRoot,
        bundleDir: options.toolchain.bundleDir,
        entryFile: options.toolchain.entryFile,
        inspector: options.toolchain.inspector,
        apiModule: options.toolchain.apiModule,
        manifestDir: options.toolchain.manifestDir,
        defaultZone: options.defaultZone,
        dependencies: options.dependencies,
        onInstalling: (isolation) => {
          entry.installing = true;
          entry.fileIsolation = isolation;
          options.log.info({ event: "task.installing", taskId: id }, `${relFile}: installing its dependencies`);
          this.emit("entry.changed", entry);
        },
      });
      if (superseded()) return entry;
      entry.installing = false;
      const row = await options.ledger.recordTaskLoad({ id, title: task.meta.title, file: relFile, error: null, enabled: task.meta.enabled });
      await options.scheduler.setTask(task, { paused: row.paused });
      entry.loaded = task;
      entry.error = null;
      entry.installFailures = 0;
      entry.installRetryAt = null;
      entry.title = task.meta.title;
      for (const warning of task.warnings) options.log.warn({ event: "task.warning", taskId: id }, warning);
      options.log.info(
        { event: "task.loaded", taskId: id, bundleMs: Math.round(task.bundle.bundleMs), cached: task.bundle.cached ?? false, schedules: task.schedules.map((s) => s.text) },
        `loaded ${relFile} (${task.schedules.map((s) => s.text).join("; ") || "no schedule"})`,
      );
    } catch (error) {
      if (superseded()) return entry;
      entry.installing = false;
      if (isCode(error, "ERR_INSPECTOR_STOPPED")) {
        // Cut off by the host stopping: not the file's fault, so nothing is recorded against it.
        entry.sourceHash = null;
        options.log.debug({ event: "task.load.cancelled", taskId: id }, `${relFile}: load cut off by the host stopping`);
        return entry;
      }
      const message = error instanceof Error ? error.message : String(error);
      const installFailure = error instanceof TaskLoadError ? error.installFailure : null;
      // "closed" while the host runs: a reload replaced the installer (dependencies.* changed); its successor tries, and it was no failure.
      const replaced = installFailure?.reason === "closed" && !this.closed;
      if (installFailure && !replaced) entry.installFailures++;
      const delayMs = !installFailure || this.closed || !options.retryInstalls ? null : replaced ? RELOADED_INSTALLER_MS : installRetryDelayMs(installFailure, entry.installFailures);
      entry.installRetryAt = delayMs == null ? null : this.retryInstallLater(entry, sourceHash, delayMs);
      entry.error = message;
      if (error instanceof TaskLoadError && error.title) entry.title = error.title;
      entry.fileIsolation = error instanceof TaskLoadError ? error.isolation : null;
      await options.ledger.recordTaskLoad({ id, title: entry.title, file: relFile, error: message, enabled: entry.loaded?.meta.enabled ?? true });
      options.log.error(
        { event: "task.error", taskId: id, file: relFile, error: message, keepsRunning: entry.loaded != null },
        entry.loaded ? `${message} (the previous version keeps running)` : message,
      );
    } finally {
      this.emit("entry.changed", entry);
    }
    return entry;
  }

  /**
   * Loads the task again in `delayMs` if its text is still `sourceHash` (an install that failed
   * for the network or the registry, install-retry.ts); returns when.
   */
  private retryInstallLater(entry: TaskEntry, sourceHash: string, delayMs: number): number {
    const timer = setTimeout(() => {
      this.installRetries.delete(entry.id);
      entry.installRetryAt = null;
      if (this.closed || this.entries.get(entry.id) !== entry || entry.sourceHash !== sourceHash) return;
      this.options.log.info({ event: "task.install_retry", taskId: entry.id, attempt: entry.installFailures + 1 }, `${entry.relFile}: trying to install its dependencies again`);
      this.loadAgain(entry);
    }, delayMs);
    // A host stopping does not wait for it.
    timer.unref();
    this.installRetries.set(entry.id, timer);
    return Date.now() + delayMs;
  }

  /** dependencies.* changed (a registry fixed): tasks whose install failed try again now, with the new installer. */
  retryFailedInstalls(): void {
    for (const entry of this.entries.values()) {
      if (entry.installFailures > 0) this.loadAgain(entry);
    }
  }

  /** A load of its own (not a save's): its failure is logged. */
  private loadAgain(entry: TaskEntry): void {
    this.load(entry.file, { force: true }).catch((error: unknown) =>
      this.options.log.error({ event: "task.error", taskId: entry.id, file: entry.relFile, err: error }, `${entry.relFile}: ${String(error)}`),
    );
  }

  private cancelInstallRetry(id: string): void {
    clearTimeout(this.installRetries.get(id));
    this.installRetries.delete(id);
    const entry = this.entries.get(id);
    if (entry) entry.installRetryAt = null;
  }

  /** No more loads of its own (install retries); loads under way finish or are cut off by the installer's close. Memoized. */
  close(): void {
    this.closed = true;
    for (const timer of this.installRetries.values()) clearTimeout(timer);
    this.installRetries.clear();
  }

  /** A file refused before it is read (a symbolic link): an error task, said once per change. */
  private async refuse(entry: TaskEntry, message: string): Promise<TaskEntry> {
    entry.sourceHash = null;
    if (entry.error === message) return entry;
    entry.error = message;
    await this.options.ledger.recordTaskLoad({ id: entry.id, title: entry.title, file: entry.relFile, error: message, enabled: entry.loaded?.meta.enabled ?? true });
    this.options.log.error({ event: "task.error", taskId: entry.id, file: entry.relFile, error: message, keepsRunning: entry.loaded != null }, message);
    this.emit("entry.changed", entry);
    return entry;
  }

  /** The file is gone: unschedule it; runs in flight finish, history stays. */
  async remove(id: string): Promise<void> {
    this.cancelInstallRetry(id);
    if (!this.entries.delete(id)) return;
    this.emit("entry.removed", id);
    this.options.scheduler.removeTask(id);
    // Said when it happens (status stops listing it now), not after the ledger's fsync.
    this.options.log.info({ event: "task.removed", taskId: id }, `removed task ${id}`);
    await this.options.ledger.markTaskRemoved(id, Date.now());
  }

  get(id: string): TaskEntry | undefined {
    return this.entries.get(id);
  }
}

function defaultTitle(id: string): string {
  return id.split("/").at(-1) ?? id;
}

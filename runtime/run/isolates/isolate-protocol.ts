/** Messages between the host and a warm isolate worker (issue 13). Plain JSON only. */
import type { RunTriggerName } from "../../api/task-context.ts";
import type { LogLevel } from "../../logging/log-level.ts";
import type { SerializedError } from "../worker-protocol.ts";
import type { RunChildrenMessage, RunOverFlag } from "../run-children.ts";
import type { TaskPaths } from "../task-paths.ts";
import type { StdioChunks } from "../stdio-through.ts";
import type { RunMemoryReport } from "../report-run-memory.ts";

/**
 * `context`: every run in a fresh V8 context, nothing kept. `task`: one task's
 * module and context kept between its runs, a fresh class instance per run.
 */
export type IsolateMode = "context" | "task";

export interface IsolateWorkerData {
  mode: IsolateMode;
  /** Where the project is, published in the worker's environment before any task code (task-paths.ts). */
  paths: TaskPaths;
  /** The `taskhost` module as a CommonJS script (see api-script.ts). */
  apiScript: string;
  /** Set by the host while the run the worker serves is over (run-children.ts). */
  over: RunOverFlag;
  /** Held while a worker switches V8's --expose-gc on and off (collect-when-quiet.ts); one for the process. */
  gcFlagLock: Int32Array;
  /** The host runs with --expose-gc or --expose-gc-as: the flag is the user's, never switched. */
  hostExposesGc: boolean;
}

export interface RunLoad {
  runId: number;
  /** The task's CommonJS bundle (see scriptBundlePath). */
  script: string;
  /** What `import.meta.url` reads in the task: its ES module bundle. */
  importMetaUrl: string;
  method: string;
  task: { id: string; title: string };
  scheduleId: string;
  scheduledFor: number;
  attempt: number;
  trigger: RunTriggerName;
  /** Set in the worker's RunOverFlag while this run may start processes (run-children.ts). */
  token: number;
  /**
   * Queued behind the run the worker serves now: it loads at once and begins, by the worker's own
   * doing, as soon as that run is over and its go has come. The cell decides, by one atomic swap
   * from 0, whether the worker begins it (1) or the host took it back to begin it elsewhere (2).
   */
  queued?: Int32Array;
}

export type ToIsolate =
  | ({ type: "load" } & RunLoad)
  /**
   * May follow `load` at once (it is handled once the run is loaded). `notBefore`: the method
   * begins at that instant, not earlier. `late`: it begins only within `afterMs` of `askedAt`, of its
   * load's end or of `notBefore`, whichever is latest (the machine froze).
   */
  | { type: "go"; runId: number; state: Record<string, unknown>; late?: { askedAt: number; afterMs: number }; notBefore?: number }
  /** `graceful`: a stop of the host, within whose grace the run may still finish (api/abort-reason.ts). */
  | { type: "abort"; runId: number; reason: string; graceful?: boolean }
  /** A loaded run that will never start: drop it. */
  | { type: "cancel"; runId: number }
  /** The run's child processes (run-children.ts: ended with the run, as under `worker`). */
  | Extract<RunChildrenMessage, { type: "children.end" }>;

export type FromIsolate =
  /** The worker booted and listens: it serves a run as soon as one is sent (the pool prefers such workers). */
  | { type: "up" }
  /** The worker (booted) begins loading the run: from now on its timeout counts. */
  | { type: "loading"; runId: number }
  | { type: "ready"; runId: number }
  | { type: "started"; runId: number; at: number }
  /** `go` came after its `notAfter`: the method did not begin (`done` follows). */
  | { type: "too-late"; runId: number }
  | { type: "log"; runId: number; level: LogLevel; message: string }
  /** What the worker's code wrote to stdout or stderr (console.log), on the channel of its log lines (stdio-through.ts). */
  | { type: "output"; chunks: StdioChunks }
  | { type: "state"; runId: number; key: string; value: unknown; deleted: boolean }
  /**
   * The run is over and the worker is free again; `retainedBytes`: its heap and Buffers after the run's context was dropped;
   * `at`: when it ended (the host may hear it later, and a run queued behind it may have begun by then).
   */
  | { type: "done"; runId: number; ok: true; retainedBytes: number; at: number }
  | { type: "done"; runId: number; ok: false; error: SerializedError; retainedBytes: number; at: number }
  /** The worker collected its garbage once its runs were quiet (collect-when-quiet.ts): what it retains now. */
  | { type: "collected"; retainedBytes: number }
  /** Something of a run that already ended, told to the host log (e.g. a late unhandled rejection). */
  | { type: "late"; message: string }
  /** The worker's memory, every 100 ms while it serves a run (issue 10.5: Buffers count against memory_limit). */
  | RunMemoryReport
  | Exclude<RunChildrenMessage, { type: "children.end" }>;

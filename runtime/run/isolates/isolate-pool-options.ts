/** What the isolate pool (isolate-pool.ts) is given, and its measured budgets. */
import type { IsolateMode } from "./isolate-protocol.ts";
import type { TaskPaths } from "../task-paths.ts";

/**
 * Measured (3,000 runs of one task in one worker, each leaving a 10,000-item
 * global): the heap after a run swings between 5 and 21 MB with the GC and
 * does not grow, so the budgets are a safety net for what a context leaks into
 * the worker's own realm (a native addon's state, a patched built-in module):
 * a boot (~40-100 ms of CPU) every 2,000 runs costs < 0.05 ms a run, and
 * 64 MB is three times the swing.
 */
export const RECYCLE_RUNS = 2000;
/** Growth of the heap and Buffers a worker retains, over its baseline, after which it is replaced. */
export const RECYCLE_HEAP_GROWTH = 64 * 1024 * 1024;

/** Idle time after which a `context` worker beyond the core count retires. */
export const SURPLUS_IDLE_MS = 10_000;
/** Idle time after which a core `context` worker of a group that may rest retires (a retry or a late run may follow a burst). */
export const REST_IDLE_MS = 2_000;
/** How long every worker of a group must have been busy before one more is started beyond its core count. */
export const GROW_AFTER_MS = 40;
/** The same while the host's own threads saturate the cores (core-load.ts): a run held that long is not just waiting for a core. */
export const SATURATED_GROW_AFTER_MS = 250;

export interface GroupSpec {
  /** "context:<mb>" or "task:<task id>:<bundle>:<mb>". */
  key: string;
  mode: IsolateMode;
  memoryLimitMb: number;
  /** For `task` groups: the task, whose older bundles' workers retire when its bundle changes. */
  taskId?: string;
}

export interface IsolatePoolOptions {
  entryFile: string;
  apiScript: string;
  paths: TaskPaths;
  /** Most `context` workers at once (all memory limits together): max_concurrent_runs + a spare. */
  maxContextWorkers: number;
  /** `task` workers kept beyond this are retired, least recently used first (only idle ones). */
  maxTaskWorkers: number;
  /** Idle time after which a worker retires; `surplus`: a `context` worker beyond the core count. */
  idleMs: { context: number; task: number; surplus?: number };
  /** `context` workers per group started without waiting (default: cores + 1). */
  coreWorkers?: number;
  /** When a worker is worn out; default RECYCLE_RUNS and RECYCLE_HEAP_GROWTH. */
  recycle?: { runs: number; heapGrowthBytes: number };
  onLate(message: string): void;
  /** Whether a `context` group's core workers may rest (retire soon after a burst): its next runs are far off (upcoming-runs.ts). */
  mayRest?(group: GroupSpec): boolean;
  /** Whether the host's threads saturate the cores (tests give their own); default this process's CPU. */
  coreLoad?: { sample(): void; saturated(): boolean };
}

/**
 * How long a worker that fell idle waits before it retires: a `context` worker
 * REST_IDLE_MS when its group's next runs are far off (mayRest), else one
 * beyond the core count soon (SURPLUS_IDLE_MS) and a core worker after idleMs.
 */
export function idleTimeMs(spec: GroupSpec, beyondCore: boolean, options: Pick<IsolatePoolOptions, "idleMs" | "mayRest">): { ms: number; resting: boolean } {
  if (spec.mode === "task") return { ms: options.idleMs.task, resting: false };
  // A group that rests rests whole: a worker booted beyond the core count for a burst would only wait out SURPLUS_IDLE_MS.
  if (options.mayRest?.(spec)) return { ms: REST_IDLE_MS, resting: true };
  return { ms: beyondCore ? (options.idleMs.surplus ?? SURPLUS_IDLE_MS) : options.idleMs.context, resting: false };
}

/** Messages between the host and a run's worker thread. Plain JSON only (but `over`, shared memory). */
import type { MethodSchedule } from "../schedule/schedule-spec.ts";
import type { RunTriggerName } from "../api/task-context.ts";
import type { LogLevel } from "../logging/log-level.ts";
import type { TaskPaths } from "./task-paths.ts";
import type { StdioChunks } from "./stdio-through.ts";
import type { RunOverFlag } from "./run-children.ts";

export interface SerializedError {
  message: string;
  stack?: string;
}

export type WorkerInput =
  /** `over`: what a bundle's top level starts (a module-level timer's spawn) is ended with the inspection (run-children.ts). */
  | { mode: "inspect"; bundleUrl: string; over: RunOverFlag }
  /** Imports bundle after bundle as the host sends `inspect` messages (a cold start's batch). */
  | { mode: "inspect-many"; over: RunOverFlag }
  | {
      mode: "run";
      bundleUrl: string;
      method: string;
      task: { id: string; title: string };
      scheduleId: string;
      scheduledFor: number;
      attempt: number;
      trigger: RunTriggerName;
      /** Set by the host once the run is over (run-children.ts). Shared memory, not JSON. */
      over: RunOverFlag;
    };

/** What a worker is started with: its input, and where the project is (absent only in tests of the run layer). */
export type WorkerData = WorkerInput & { paths?: TaskPaths };

export type WorkerMessage =
  | { type: "inspected"; schedules: MethodSchedule[]; methods: string[] }
  | { type: "inspect-failed"; error: SerializedError }
  | { type: "ready" }
  | { type: "started"; at: number }
  /** `go` came after its `notAfter` (the machine froze meanwhile): the method did not begin. */
  | { type: "too-late" }
  | { type: "log"; level: LogLevel; message: string }
  /** What the task wrote to stdout or stderr (console.log), on the channel of its log lines (stdio-through.ts). */
  | { type: "output"; chunks: StdioChunks }
  | { type: "state"; key: string; value: unknown; deleted: boolean }
  | { type: "done"; ok: true }
  | { type: "done"; ok: false; error: SerializedError };

/**
 * `go` carries the task's state as of the start, not as of the pre-warm, and
 * the latest instant (ms) the method may begin at.
 */
export type HostMessage =
  | { type: "go"; state: Record<string, unknown>; notAfter?: number }
  /** `graceful`: a stop of the host, within whose grace the run may still finish (api/abort-reason.ts). */
  | { type: "abort"; reason: string; graceful?: boolean }
  | { type: "inspect"; bundleUrl: string };

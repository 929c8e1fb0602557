import type { ScheduleSpec } from "../schedule/schedule-spec.ts";
import type { ResolvedTaskMeta } from "./task-meta.ts";
import type { TaskBundle } from "./bundle-task.ts";

/** One schedule of a loaded task, with everything the scheduler needs resolved. */
export interface TaskSchedule {
  /** `<task id>#<method>` (`#<method>:2` for a second schedule on one method). */
  readonly id: string;
  readonly method: string;
  readonly spec: ScheduleSpec;
  /** Human text, e.g. "every 5 minutes". */
  readonly text: string;
  /** IANA zone the schedule is read in. */
  readonly zone: string;
  readonly window: { readonly start?: number; readonly end?: number };
  /** Changes whenever the occurrences would: spec, zone or window. */
  readonly fingerprint: string;
}

/** A task file that bundled, validated and was inspected successfully. */
export interface LoadedTask {
  readonly id: string;
  /** Absolute path. */
  readonly file: string;
  /** Relative to the project root, for display. */
  readonly relFile: string;
  readonly meta: ResolvedTaskMeta;
  readonly bundle: TaskBundle;
  readonly schedules: readonly TaskSchedule[];
  /** Every method of the default-exported class (for `run <task>#<method>`). */
  readonly methods: readonly string[];
  readonly warnings: readonly string[];
}

/**
 * The `taskhost` module that task files import. It is bundled into every task
 * bundle, so it stays self-contained: schedule builders, decorators and types,
 * plus readSchedules for the host's loader.
 */
export { repeat } from "./repeat.ts";
export { once } from "./once.ts";
export { every, type EveryBuilder } from "./every.ts";
export { cron } from "./cron.ts";
export { Schedule } from "./schedule.ts";
export { readSchedules } from "./read-schedules.ts";
export { ERR_SCHEDULE_INVALID } from "../schedule/schedule-errors.ts";
export type { MethodSchedule, ScheduleSpec } from "../schedule/schedule-spec.ts";
export type { RunTriggerName, TaskContext, TaskLogger, TaskState } from "./task-context.ts";
export { currentRun, type CurrentRun } from "./current-run.ts";

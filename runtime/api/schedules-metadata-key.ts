/**
 * Where the schedule decorators record their schedules: an array of
 * `{ method, spec }` under this key of the class's decorator metadata
 * (`Class[Symbol.metadata]`). Symbol.for so that the copy of the `taskhost`
 * module bundled into a task and the host's copy agree on it.
 */
export const SCHEDULES_KEY: symbol = Symbol.for("taskhost.schedules");

/**
 * `Symbol.metadata` where the runtime has it; esbuild's decorator lowering
 * uses `Symbol.for("Symbol.metadata")` when it is missing (Node 20).
 */
export const METADATA_SYMBOL: symbol =
  (Symbol as { metadata?: symbol }).metadata ?? Symbol.for("Symbol.metadata");

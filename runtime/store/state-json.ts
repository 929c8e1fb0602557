import { taskhostError } from "../errors.ts";

/**
 * A task state value as the ledger stores it (both backends): its JSON text, or
 * ERR_STATE_VALUE naming the task and key when it has none (a cycle, a BigInt,
 * a function or undefined inside a value a run meant to keep).
 */
export function stateJson(taskId: string, key: string, value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw taskhostError("ERR_STATE_VALUE", `taskhost store: state "${key}" of task ${taskId} cannot be stored as JSON (${(error as Error).message}).`, { cause: error });
  }
  if (json === undefined) {
    throw taskhostError("ERR_STATE_VALUE", `taskhost store: state "${key}" of task ${taskId} cannot be stored as JSON (a ${typeof value}). Store plain data.`);
  }
  return json;
}

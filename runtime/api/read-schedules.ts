/**
 * The schedules a task class declared through @repeat/@once, in declaration
 * order, each with its `key`: the method name, or `<method>:2`, `<method>:3`
 * for later schedules on the same method (schedule id = `<task id>#<key>`).
 * Returns [] for anything without schedule metadata.
 */
import type { MethodSchedule } from "../schedule/schedule-spec.ts";
import { METADATA_SYMBOL, SCHEDULES_KEY } from "./schedules-metadata-key.ts";

export function readSchedules(cls: unknown): MethodSchedule[] {
  if (typeof cls !== "function") return [];
  const metadata = (cls as unknown as Record<PropertyKey, unknown>)[METADATA_SYMBOL];
  if (typeof metadata !== "object" || metadata === null) return [];
  const list = (metadata as Record<PropertyKey, unknown>)[SCHEDULES_KEY];
  if (!Array.isArray(list)) return [];
  const seen = new Map<string, number>();
  return (list as MethodSchedule[]).map(({ method, spec }) => {
    const count = (seen.get(method) ?? 0) + 1;
    seen.set(method, count);
    return { method, spec, key: count === 1 ? method : `${method}:${count}` };
  });
}

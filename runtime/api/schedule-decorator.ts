/**
 * The TC39 method decorator behind `@repeat(...)` and `@once(...)`.
 *
 * Records `{ method, spec }` in the class's decorator metadata (see
 * schedules-metadata-key.ts); readSchedules() reads it back after the module
 * is evaluated. Rules:
 * - only public instance methods (the host calls `new Task()[method](ctx)`);
 * - several decorators on one method give several schedules, kept in source
 *   order; their ids are `<task>#<method>`, `<task>#<method>:2`, `:3`, ...
 *   (readSchedules assigns these keys);
 * - a subclass inherits its parent's schedules (metadata objects inherit
 *   through their prototype); decorating a method the parent also decorated
 *   replaces the parent's schedules of that method. The parent's array is
 *   copied, never mutated.
 */
import type { MethodSchedule, ScheduleSpec } from "../schedule/schedule-spec.ts";
import { ERR_SCHEDULE_INVALID, scheduleError } from "../schedule/schedule-errors.ts";
import { SCHEDULES_KEY } from "./schedules-metadata-key.ts";

export type MethodDecorator = (method: unknown, context: ClassMethodDecoratorContext) => void;

export function scheduleDecorator(spec: ScheduleSpec, label: string): MethodDecorator {
  const frozen = Object.freeze({ ...spec });
  return (_method, context) => {
    const fail = (why: string): never => {
      throw scheduleError(ERR_SCHEDULE_INVALID, `taskhost schedule: ${label} ${why}`);
    };
    const ctx = context as Partial<ClassMethodDecoratorContext> | undefined;
    if (!ctx || typeof ctx !== "object" || typeof ctx.kind !== "string") {
      fail("must be used as a TC39 decorator on a method (compile the task with esbuild, without experimentalDecorators)");
    }
    const where = typeof ctx!.name === "symbol" ? String(ctx!.name) : `"${String(ctx!.name)}"`;
    if (ctx!.kind !== "method") fail(`can only decorate a method; ${where} is a ${ctx!.kind}`);
    if (ctx!.static) fail(`cannot decorate static method ${where}; schedules go on instance methods`);
    if (ctx!.private) fail(`cannot decorate private method ${where}; the host cannot call it, make it public`);
    if (typeof ctx!.name !== "string") fail(`cannot decorate symbol-named method ${where}; give it a string name`);
    const metadata = ctx!.metadata as Record<PropertyKey, unknown> | undefined;
    if (!metadata) fail("found no decorator metadata; compile the task with esbuild's TC39 decorators");

    const method = ctx!.name as string;
    let own = metadata![SCHEDULES_KEY] as MethodSchedule[] | undefined;
    if (!Object.prototype.hasOwnProperty.call(metadata, SCHEDULES_KEY)) {
      // First schedule of this class: start from a copy of the parent's list.
      own = Array.isArray(own) ? [...own] : [];
      metadata![SCHEDULES_KEY] = own;
    }
    // This class overrides the method: the parent's schedules of it no longer apply.
    const parent = parentList(metadata!);
    for (let i = own!.length - 1; i >= 0; i--) {
      if (own![i].method === method && parent.includes(own![i])) own!.splice(i, 1);
    }
    // Decorators apply bottom-up; inserting before this method's earlier-applied
    // entries keeps them in source order.
    const entry: MethodSchedule = Object.freeze({ method, spec: frozen });
    const firstSame = own!.findIndex((e) => e.method === method);
    if (firstSame === -1) own!.push(entry);
    else own!.splice(firstSame, 0, entry);
  };
}

function parentList(metadata: Record<PropertyKey, unknown>): MethodSchedule[] {
  const parent = Object.getPrototypeOf(metadata) as Record<PropertyKey, unknown> | null;
  const list = parent?.[SCHEDULES_KEY];
  return Array.isArray(list) ? (list as MethodSchedule[]) : [];
}

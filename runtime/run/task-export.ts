/**
 * What a task file's default export offers to run, read the same way by every
 * isolation level's worker (worker-entry.ts, isolate-entry.ts): a class whose
 * methods are run on a fresh instance each, or `export default function (ctx)`,
 * a task of one method, `default`, run with `taskhost run`.
 */
import type { TaskContext } from "../api/task-context.ts";

export type TaskExport = new () => Record<string, unknown>;

const PLAIN_FUNCTION_METHOD = "default";
const isClass = (fn: Function) => /^class\b/.test(Function.prototype.toString.call(fn));

/** The module's default export, or an error saying what a task file must export. */
export function taskExport(module: unknown): TaskExport {
  const exported = (module as { default?: unknown } | null)?.default;
  if (typeof exported !== "function") throw new Error("the task file must `export default class { ... }` with decorated methods");
  return exported as TaskExport;
}

export function methodNames(cls: Function): string[] {
  if (!isClass(cls)) return [PLAIN_FUNCTION_METHOD];
  const names = new Set<string>();
  for (let proto = cls.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name !== "constructor" && typeof Object.getOwnPropertyDescriptor(proto, name)?.value === "function") names.add(name);
    }
  }
  return [...names];
}

/** One run's method and what it is called on: a fresh instance, or nothing for a plain function. */
export function taskMethod(cls: TaskExport, method: string): { instance: Record<string, unknown>; fn: (ctx: TaskContext) => unknown } {
  const plain = !isClass(cls) && method === PLAIN_FUNCTION_METHOD;
  const instance = plain ? {} : new cls();
  const fn = plain ? cls : instance[method];
  if (typeof fn !== "function") throw new Error(`the task class has no method "${method}"`);
  return { instance, fn: fn as (ctx: TaskContext) => unknown };
}

import type { LastCrashJson } from "../host/report-shapes.ts";

/**
 * How the previous host ended, handed by the supervisor to the host it starts
 * next (in its environment), so `status` says why the host restarted without
 * a look into logs/supervisor.log.
 */
export interface LastCrash {
  /** ms since the epoch. */
  at: number;
  /** `the host was killed by SIGKILL after 120 s`, then the last lines it wrote on stderr. */
  error: string;
}

export const LAST_CRASH_ENV = "TASKHOST_LAST_CRASH";

export function readLastCrash(env: NodeJS.ProcessEnv): LastCrash | null {
  try {
    const value = JSON.parse(env[LAST_CRASH_ENV] ?? "null") as Partial<LastCrash> | null;
    return typeof value?.at === "number" && typeof value.error === "string" ? { at: value.at, error: value.error } : null;
  } catch {
    return null;
  }
}

export function lastCrashJson(crash: LastCrash | null): LastCrashJson | null {
  return crash ? { at: new Date(crash.at).toISOString(), error: crash.error } : null;
}

import type { ResolvedConfig } from "../config/config-options.ts";

/**
 * The config keys (in the file's spelling, e.g. `scheduler.max_concurrent_runs`)
 * whose resolved values differ between two configurations.
 */
export function changedConfigKeys(prev: ResolvedConfig, next: ResolvedConfig): string[] {
  const a = flatten(prev);
  const b = flatten(next);
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((key) => a.get(key) !== b.get(key)).sort();
}

function flatten(config: ResolvedConfig): Map<string, string> {
  const out = new Map<string, string>();
  for (const [section, value] of Object.entries(config)) {
    if (value == null || typeof value !== "object") continue;
    for (const [key, leaf] of Object.entries(value as Record<string, unknown>)) {
      if (key === "timezoneIsLocal") continue;
      out.set(`${section}.${userKey(key)}`, JSON.stringify(leaf));
    }
  }
  return out;
}

/** maxConcurrentRuns -> max_concurrent_runs; unit suffixes of resolved names dropped. */
function userKey(key: string): string {
  return key
    .replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
    .replace(/_(bytes|sec|mb)$/, "");
}

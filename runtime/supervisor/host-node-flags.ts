import path from "node:path";

/**
 * V8's young generation grows to 2 × 16 MB under a burst of allocation (a cold
 * start's bundling) and stays that size, idle; 2 × 4 MB costs the host about
 * as little in GC time (measured in the bench's burst) and 24 MB less RSS.
 * install.sh --no-supervisor gives Node the same flags in the unit's ExecStart.
 */
export const HOST_NODE_FLAGS = ["--max-semi-space-size=4"];

/**
 * `TASKHOST_CPU_PROFILE=<folder>`: each host writes a V8 CPU profile of its
 * main thread there when it exits (Node's --cpu-prof: Node 20 refuses it in
 * NODE_OPTIONS, and there it would profile every Node process a run starts
 * too), for Chrome DevTools; `npm run bench -- --profile` sets it.
 */
export function hostNodeFlags(): string[] {
  const folder = process.env.TASKHOST_CPU_PROFILE;
  return folder ? [...HOST_NODE_FLAGS, "--cpu-prof", `--cpu-prof-dir=${path.resolve(folder)}`] : HOST_NODE_FLAGS;
}

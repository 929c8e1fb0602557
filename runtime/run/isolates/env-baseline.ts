/**
 * `process.env` of a warm worker as it was before any run, put back when a
 * run's realm goes (run-realm.ts) if a run changed it. Writes are noticed
 * through a Proxy in place of `process.env`, so the many runs that change
 * nothing pay nothing: copying and comparing the environment for every run
 * cost 0.09-0.22 ms of the worker's CPU (40-150 variables; under `npm start`
 * a shell's ~40 are ~80), measured.
 */
let baseline: Record<string, string | undefined> | null = null;
let changed = false;

/** Takes the baseline (once per thread, after taskhost's own variables are set) and watches writes from then on. */
export function watchEnv(): void {
  if (baseline) return;
  baseline = { ...process.env };
  const mark = () => (changed = true);
  process.env = new Proxy(process.env, {
    set: (target, key, value) => (mark(), Reflect.set(target, key, value)),
    deleteProperty: (target, key) => (mark(), Reflect.deleteProperty(target, key)),
    defineProperty: (target, key, descriptor) => (mark(), Reflect.defineProperty(target, key, descriptor)),
  });
  // Node's C++ side writes these variables, past the Proxy.
  const loadEnvFile = process.loadEnvFile.bind(process);
  process.loadEnvFile = (file?: string) => (mark(), loadEnvFile(file));
}

/** Puts `process.env` back as it was at watchEnv(), if anything changed it since. */
export function restoreEnv(): void {
  if (!baseline || !changed) return;
  for (const key of Object.keys(process.env)) if (!Object.hasOwn(baseline, key)) delete process.env[key];
  for (const [key, value] of Object.entries(baseline)) if (process.env[key] !== value) process.env[key] = value;
  changed = false;
}

import { stat } from "node:fs/promises";
import path from "node:path";
import { currentRun } from "../runtime/api/current-run.ts";
import { getProjectRoot } from "./project-root.ts";
import { errorMessage, errorWithStack, sleep } from "./errors.ts";
import { log } from "./logging.ts";
import { isGracefulStop } from "../runtime/api/abort-reason.ts";

/** How {@link waitForFile} waits. Times in seconds. */
export interface WaitForFileOptions {
  /** Give up after this many seconds; default 60. */
  timeout?: number;
  /** The size and modification time must stay the same this long; default 2. */
  stableFor?: number;
  /** Seconds between checks; default 0.25. */
  pollInterval?: number;
  /** Stops waiting when it aborts; default the current run's `ctx.signal`. */
  signal?: AbortSignal;
}

/** The settled file {@link waitForFile} found. */
export interface SettledFile {
  /** Absolute path. */
  path: string;
  size: number;
  mtimeMs: number;
  /** How long the wait took. */
  waitedMs: number;
}

/**
 * Waits until a file exists and has stopped changing: its size and
 * modification time stayed the same for `stableFor` seconds (a writer that
 * pauses for less than that still counts as writing). Relative paths are
 * relative to the project root. Rejects after `timeout` seconds with what it
 * last saw, or when the run is aborted.
 *
 * @example
 * const file = await waitForFile("inbox/export.csv", { timeout: 600, stableFor: 5 });
 * log.info(`export ready: ${file.size} bytes`);
 */
export async function waitForFile(file: string, options: WaitForFileOptions = {}): Promise<SettledFile> {
  const target = path.resolve(getProjectRoot(), file);
  const timeoutMs = (options.timeout ?? 60) * 1000;
  const stableMs = (options.stableFor ?? 2) * 1000;
  const pollMs = Math.max(10, (options.pollInterval ?? 0.25) * 1000);
  const signal = options.signal ?? currentRun()?.signal;
  const started = Date.now();
  let last: { size: number; mtimeMs: number; since: number } | null = null;
  for (;;) {
    const now = Date.now();
    let info: { size: number; mtimeMs: number } | null = null;
    try {
      const s = await stat(target);
      if (s.isFile()) info = { size: s.size, mtimeMs: s.mtimeMs };
    } catch {
      // Not there yet.
    }
    if (info) {
      if (!last || last.size !== info.size || last.mtimeMs !== info.mtimeMs) last = { ...info, since: now };
      else if (now - last.since >= stableMs) return { path: target, ...info, waitedMs: now - started };
    } else {
      last = null;
    }
    if (now - started >= timeoutMs) {
      const seen = last ? `it exists (${last.size} bytes) but was still changing` : "it never appeared";
      throw new Error(`waitForFile: ${file} not ready after ${timeoutMs / 1000}s: ${seen}`);
    }
    await sleep(pollMs, signal);
  }
}

/** What a step's `run` gets. */
export interface StepContext {
  name: string;
  /** 1-based attempt of this step. */
  attempt: number;
  /** The run's signal (aborted on timeout and shutdown). */
  signal: AbortSignal;
  /** The values returned by the steps before, by name. */
  results: Readonly<Record<string, unknown>>;
}

/** One named step of a workflow. */
export interface Step<T = unknown> {
  name: string;
  run: (step: StepContext) => T | Promise<T>;
  /** Further attempts after a failure; default 0. */
  retries?: number;
  /** Seconds between attempts; default 1. */
  retryDelay?: number;
  /** Keep going after this step fails even if the workflow does not. */
  continueOnFailure?: boolean;
}

/** How one step went. */
export interface StepResult {
  name: string;
  status: "success" | "failure" | "skipped";
  attempts: number;
  durationMs: number;
  /** What `run` returned. */
  value?: unknown;
  /** The error message of the last attempt. */
  error?: string;
}

/** How the whole workflow went. */
export interface WorkflowResult {
  ok: boolean;
  steps: StepResult[];
  durationMs: number;
}

/** How {@link runSteps} treats failures. */
export interface RunStepsOptions {
  /** Run the later steps after a failed one; default false (they are `skipped`). */
  continueOnFailure?: boolean;
  /** Throw a {@link WorkflowError} at the end when a step failed, so the run fails; default true. */
  throwOnFailure?: boolean;
  /** Default the current run's `ctx.signal`. */
  signal?: AbortSignal;
}

/** Thrown by {@link runSteps} when a step failed; `result` has every step's outcome. */
export class WorkflowError extends Error {
  constructor(readonly result: WorkflowResult) {
    const failed = result.steps.filter((s) => s.status === "failure");
    super(`workflow failed: ${failed.map((s) => `step "${s.name}": ${s.error}`).join("; ")}`);
    this.name = "WorkflowError";
  }
}

/**
 * Runs named steps in order, each retried up to its `retries`. Every step's
 * start, retry and outcome is logged (so it is in tasks.log and the run's
 * output), and a summary line at the end. When a step fails for good, the
 * later steps are skipped unless `continueOnFailure`; at the end a failed
 * workflow throws a {@link WorkflowError} (unless `throwOnFailure: false`), so
 * the run is recorded as failed. A step's return value is passed on in
 * `results` and kept in its StepResult.
 *
 * @example
 * await runSteps([
 *   { name: "export", run: () => executeCommand("./export.sh", { timeout: 600 }).then(assertSuccess) },
 *   { name: "wait", run: () => waitForFile("out/export.csv", { stableFor: 5 }) },
 *   { name: "upload", run: () => upload("out/export.csv"), retries: 3, retryDelay: 30 },
 * ]);
 */
export async function runSteps(steps: readonly Step[], options: RunStepsOptions = {}): Promise<WorkflowResult> {
  const signal = options.signal ?? currentRun()?.signal ?? new AbortController().signal;
  const started = performance.now();
  const results: Record<string, unknown> = {};
  const outcomes: StepResult[] = [];
  let failedBefore = false;
  for (const [index, step] of steps.entries()) {
    const label = `step ${index + 1}/${steps.length} "${step.name}"`;
    // A graceful stop of the host aborts the signal too, but the run may finish within shutdown_grace.
    const aborted = signal.aborted && !isGracefulStop(signal);
    if ((failedBefore && !options.continueOnFailure) || aborted) {
      log.info(`${label}: skipped${aborted ? " (the run was aborted)" : " (an earlier step failed)"}`);
      outcomes.push({ name: step.name, status: "skipped", attempts: 0, durationMs: 0 });
      continue;
    }
    const outcome = await runStep(step, label, signal, results);
    outcomes.push(outcome);
    if (outcome.status === "success") results[step.name] = outcome.value;
    else if (!step.continueOnFailure) failedBefore = true;
  }
  const result: WorkflowResult = {
    // A step that may fail (its own continueOnFailure) does not fail the workflow.
    ok: !failedBefore && outcomes.every((s) => s.status !== "skipped"),
    steps: outcomes,
    durationMs: Math.round(performance.now() - started),
  };
  const count = (status: StepResult["status"]) => outcomes.filter((s) => s.status === status).length;
  const summary = `workflow ${result.ok ? "succeeded" : "failed"}: ${count("success")} succeeded, ${count("failure")} failed, ${count("skipped")} skipped in ${result.durationMs} ms`;
  (result.ok ? log.info : log.error)(summary);
  if (!result.ok && (options.throwOnFailure ?? true)) throw new WorkflowError(result);
  return result;
}

async function runStep(step: Step, label: string, signal: AbortSignal, results: Record<string, unknown>): Promise<StepResult> {
  const attempts = 1 + Math.max(0, step.retries ?? 0);
  const started = performance.now();
  let error = "";
  for (let attempt = 1; attempt <= attempts; attempt++) {
    log.info(`${label}: started${attempt > 1 ? ` (attempt ${attempt} of ${attempts})` : ""}`);
    try {
      const value = await step.run({ name: step.name, attempt, signal, results: { ...results } });
      const durationMs = Math.round(performance.now() - started);
      log.info(`${label}: succeeded in ${durationMs} ms`);
      return { name: step.name, status: "success", attempts: attempt, durationMs, value };
    } catch (thrown) {
      error = errorMessage(thrown);
      if (attempt < attempts && !signal.aborted) {
        log.warn(`${label}: attempt ${attempt} failed: ${error}; retrying in ${step.retryDelay ?? 1}s`);
        try {
          await sleep((step.retryDelay ?? 1) * 1000, signal);
        } catch {
          break;
        }
      } else {
        log.error(`${label}: failed${attempts > 1 ? ` after ${attempt} attempt${attempt > 1 ? "s" : ""}` : ""}: ${errorWithStack(thrown)}`);
        return { name: step.name, status: "failure", attempts: attempt, durationMs: Math.round(performance.now() - started), error };
      }
    }
  }
  log.error(`${label}: failed: ${error}`);
  return { name: step.name, status: "failure", attempts, durationMs: Math.round(performance.now() - started), error };
}

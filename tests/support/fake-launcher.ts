/**
 * A RunLauncher whose runs live on a FakeTime clock, for unit tests of the
 * scheduler's decisions (where code runs is not what they test; the
 * WorkerLauncher has real-worker tests of its own). Each run follows a plan:
 * how long its method takes, how it ends, what state it writes, whether it
 * honours ctx.signal.
 */
import type { EndStatus, ExpectedRun, Isolation, LaunchedRun, RunLauncher, RunOutcome, RunRequest, RunSink, StartOptions } from "../../runtime/scheduler/run-launcher.ts";
import type { FakeTime } from "./fake-time.ts";

export interface FakeRunPlan {
  /** How long the method runs once started (ms of fake time); Infinity: until the test ends it. */
  durationMs: number;
  status?: "success" | "failure";
  error?: string;
  /** State the method writes just before it returns. */
  writes?: Record<string, unknown>;
  /** Returns as soon as ctx.signal aborts (otherwise it is killed after the grace). */
  honoursAbort?: boolean;
  /** Its code begins only once this resolves (the machine can freeze between start() and then). */
  beginsAfter?: Promise<void>;
  /** How long its code takes to load (`ready`), ms of fake time; default 0. */
  loadMs?: number;
}

export class FakeRun implements LaunchedRun {
  readonly ready: Promise<void>;
  readonly outcome: Promise<RunOutcome>;
  readonly launchedAt: number;
  startedAt: number | null = null;
  /** When start() was called, and the instant it was told not to begin before. */
  startAskedAt: number | null = null;
  notBefore: number | null = null;
  /** StartOptions.after: the run id it was to follow, if any. */
  after: number | null = null;
  /** Taken out of its wait for the run it followed (standAlone). */
  stoodAlone = false;
  private leaveLine: () => void = () => {};
  /** The state the method was given. */
  stateSeen: Record<string, unknown> | null = null;
  stopped: { status: "timeout" | "interrupted"; reason: string; graceMs: number; completedCounts: boolean } | null = null;
  cancelled = false;
  ended = false;
  private startAsked = false;
  private timer: unknown;
  private resolve: (outcome: RunOutcome) => void = () => {};

  constructor(
    readonly request: RunRequest,
    private readonly sink: RunSink,
    private readonly plan: FakeRunPlan,
    private readonly time: FakeTime,
    /** The launcher's run with a run id (StartOptions.after), while it is known. */
    private readonly find: (runId: number) => FakeRun | undefined = () => undefined,
  ) {
    this.launchedAt = time.now();
    this.ready = plan.loadMs ? new Promise((resolve) => time.setTimeout(resolve, plan.loadMs!)) : Promise.resolve();
    this.outcome = new Promise((resolve) => (this.resolve = resolve));
  }

  start(readState: () => Promise<Record<string, unknown>>, options?: StartOptions): void {
    if (this.startAsked || this.ended) return;
    this.startAsked = true;
    this.startAskedAt = this.time.now();
    this.notBefore = options?.notBefore ?? null;
    const notBefore = options?.notBefore ?? -Infinity;
    const notAfter = options?.lateAfterMs === undefined ? Infinity : Math.max(this.time.now(), notBefore) + options.lateAfterMs;
    this.after = options?.after ?? null;
    void (async () => {
      await this.plan.beginsAfter;
      // As IsolatingLauncher does: it begins once the run it follows is over (or standAlone() lets it go).
      const ahead = options?.after === undefined ? undefined : this.find(options.after);
      if (ahead && !ahead.ended) await Promise.race([ahead.outcome, new Promise<void>((resolve) => (this.leaveLine = resolve))]);
      const state = await readState();
      if (notBefore > this.time.now()) await new Promise<void>((resolve) => this.time.setTimeout(() => resolve(), notBefore - this.time.now()));
      if (this.ended) return;
      // As the real launchers do: code that would begin after its deadline does not.
      if (this.time.now() > notAfter) return this.finish("interrupted", "not begun: too late", true);
      this.stateSeen = state;
      this.startedAt = this.time.now();
      this.sink.started(this.startedAt);
      if (Number.isFinite(this.plan.durationMs)) this.timer = this.time.setTimeout(() => this.finish(this.plan.status ?? "success", this.plan.error ?? null), this.plan.durationMs);
    })();
  }

  stop(status: "timeout" | "interrupted", reason: string, graceMs: number, completedCounts = false): void {
    if (this.ended || this.stopped) return;
    this.stopped = { status, reason, graceMs, completedCounts };
    if (this.plan.honoursAbort && this.startedAt !== null) this.finish(completedCounts ? "success" : status, completedCounts ? null : reason);
    else this.time.setTimeout(() => this.finish(status, reason), graceMs);
  }

  standAlone(): boolean {
    if (this.ended || this.startedAt !== null) return false;
    this.stoodAlone = true;
    this.leaveLine();
    return true;
  }

  cancel(): void {
    if (this.startAsked || this.ended) return;
    this.cancelled = true;
    this.finish("interrupted", "cancelled before it started");
  }

  /** Ends the run now (the method returned, threw, or was killed). */
  finish(status: EndStatus = "success", error: string | null = null, late = false): void {
    if (this.ended) return;
    this.ended = true;
    this.time.clearTimeout(this.timer);
    if (this.startedAt !== null) for (const [key, value] of Object.entries(this.plan.writes ?? {})) this.sink.state(key, value, false);
    this.resolve({ status, error, output: "", startedAt: this.startedAt, finishedAt: this.time.now(), ...(late ? { late } : {}) });
  }
}

export class FakeLauncher implements RunLauncher {
  readonly runs: FakeRun[] = [];
  lead = 400;
  /** The plan of each launched run (default: returns at once, successfully). */
  plan: (request: RunRequest) => FakeRunPlan = () => ({ durationMs: 0 });
  closed = false;
  /** Tasks the scheduler told it were gone (forgetTask). */
  readonly forgotten: string[] = [];

  constructor(private readonly time: FakeTime) {}

  /** Each schedule's next occurrence as the scheduler told it (expect), in order. */
  readonly expected: ExpectedRun[] = [];

  forgetTask(taskId: string): void {
    this.forgotten.push(taskId);
  }

  expect(run: ExpectedRun): void {
    this.expected.push(run);
  }

  launch(request: RunRequest, sink: RunSink): FakeRun {
    if (this.closed) throw new Error("fake launcher: closed");
    const run = new FakeRun(request, sink, this.plan(request), this.time, (runId) => this.runs.find((r) => r.request.runId === runId));
    this.runs.push(run);
    return run;
  }

  leadTimeMs(_taskId: string, _isolation: Isolation): number {
    return this.lead;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const run of this.runs) run.finish("interrupted", "the host is shutting down");
  }

  /** The runs of one schedule, in launch order. */
  of(scheduleId: string): FakeRun[] {
    return this.runs.filter((r) => r.request.scheduleId === scheduleId);
  }

  /** Runs whose method is running now. */
  running(): FakeRun[] {
    return this.runs.filter((r) => r.startedAt !== null && !r.ended);
  }
}

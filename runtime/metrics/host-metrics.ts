import { createRequire } from "node:module";
import type { Counter, Gauge, Histogram } from "prom-client";

/** prom-client (with OpenTelemetry's API, ~5 MB of RSS) is loaded only by a host that serves /metrics. */
const promClient = () => createRequire(import.meta.url)("prom-client") as typeof import("prom-client");

/** What the metrics read from the host when scraped (gauges of the moment). */
export interface MetricsSource {
  /** Every schedule with its next run (epoch ms, null: none). */
  schedules(): Iterable<{ id: string; nextRun: number | null }>;
  tasksInError(): number;
  runningRuns(): number;
}

/** The host's figures that do not change with its tasks. */
export interface HostFigures {
  restarts: number;
  startedAt: number;
  /** Whether the host can reach its ledger now (a fleet's PostgreSQL may be away); absent: always (sql.js). */
  ledgerUp?(): boolean;
}

/** Durations from 10 ms to 2 h: tasks range from pings to reports. */
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200];
/** Start lag: a boundary run starts within milliseconds; catch-up runs hours late. */
const LAG_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 60, 300, 3600];

/**
 * The host's Prometheus metrics (contract §11), in a registry of its own (so
 * two hosts in one test process do not share counters). Counters move with
 * the scheduler's events; gauges are read from the host at scrape time.
 */
export class HostMetrics {
  readonly registry: import("prom-client").Registry;
  private readonly runs: Counter<"task" | "status">;
  private readonly duration: Histogram<"task">;
  private readonly lag: Histogram<"task">;
  private readonly skipped: Counter<"task">;
  private readonly missed: Counter<"task">;
  private readonly lastSuccess: Gauge<"task">;
  private readonly alerts: Counter<"rule">;
  private readonly heldBack: Counter<"rule">;
  private readonly deliveries: Counter<"channel" | "outcome">;

  constructor(source: MetricsSource, host: HostFigures) {
    const { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } = promClient();
    this.registry = new Registry();
    const registers = [this.registry];
    this.runs = new Counter({ name: "taskhost_runs_total", help: "Runs that ended, by task and status.", labelNames: ["task", "status"], registers });
    this.duration = new Histogram({ name: "taskhost_run_duration_seconds", help: "How long runs took, by task.", labelNames: ["task"], buckets: DURATION_BUCKETS, registers });
    this.lag = new Histogram({ name: "taskhost_start_lag_seconds", help: "Start of a scheduled run minus its occurrence's time.", labelNames: ["task"], buckets: LAG_BUCKETS, registers });
    this.skipped = new Counter({ name: "taskhost_occurrences_skipped_total", help: "Occurrences recorded as skipped (overlap, catch_up: skip, no free slot).", labelNames: ["task"], registers });
    this.missed = new Counter({ name: "taskhost_occurrences_missed_total", help: "Occurrences that did not start within alerts.missed_grace (late, overdue, missed while down).", labelNames: ["task"], registers });
    this.lastSuccess = new Gauge({ name: "taskhost_task_last_success_timestamp_seconds", help: "When the task's last successful run ended (Unix time).", labelNames: ["task"], registers });
    this.alerts = new Counter({ name: "taskhost_alerts_total", help: "Alerts raised, by rule.", labelNames: ["rule"], registers });
    this.heldBack = new Counter({ name: "taskhost_alerts_held_back_total", help: "Alerts a rule would have raised that alerts.repeat_after held back, by rule.", labelNames: ["rule"], registers });
    this.deliveries = new Counter({ name: "taskhost_alert_deliveries_total", help: "Alert delivery attempts, by channel and outcome (sent, failed).", labelNames: ["channel", "outcome"], registers });
    new Gauge({
      name: "taskhost_schedule_next_run_timestamp_seconds",
      help: "The schedule's next occurrence (Unix time); absent when it has none.",
      labelNames: ["schedule"],
      registers,
      collect() {
        this.reset();
        for (const s of source.schedules()) if (s.nextRun != null) this.set({ schedule: s.id }, s.nextRun / 1000);
      },
    });
    new Gauge({ name: "taskhost_tasks_in_error", help: "Tasks whose file does not load.", registers, collect() { this.set(source.tasksInError()); } });
    new Gauge({ name: "taskhost_runs_in_progress", help: "Runs executing now.", registers, collect() { this.set(source.runningRuns()); } });
    new Gauge({ name: "taskhost_host_resident_memory_bytes", help: "Resident memory of the host process (runs' worker threads included).", registers, collect() { this.set(process.memoryUsage.rss()); } });
    new Gauge({ name: "taskhost_ledger_up", help: "1 while the host can reach its ledger, 0 while it cannot (a fleet's database away: no task runs).", registers, collect() { this.set(host.ledgerUp?.() === false ? 0 : 1); } });
    new Gauge({ name: "taskhost_host_start_time_seconds", help: "When this host process started (Unix time).", registers }).set(host.startedAt / 1000);
    new Counter({ name: "taskhost_host_restarts_total", help: "Times the supervisor restarted the host (memory limit, crash, restart command); 0 under start --no-supervisor, whose manager counts them.", registers }).inc(host.restarts);
    // Node's own (event loop lag, heap, GC, file descriptors), under their usual names.
    collectDefaultMetrics({ register: this.registry });
  }

  runStarted(task: string, lagMs: number | null): void {
    if (lagMs != null) this.lag.observe({ task }, Math.max(0, lagMs) / 1000);
  }

  runEnded(task: string, status: string, durationMs: number | null, finishedAt: number): void {
    if (status === "skipped") {
      this.skipped.inc({ task });
      return;
    }
    this.runs.inc({ task, status });
    if (durationMs != null) this.duration.observe({ task }, durationMs / 1000);
    if (status === "success") this.lastSuccess.set({ task }, finishedAt / 1000);
  }

  /** Seeds the last success from the ledger at start. */
  lastSucceeded(task: string, finishedAt: number): void {
    this.lastSuccess.set({ task }, finishedAt / 1000);
  }

  occurrenceSkipped(task: string): void {
    this.skipped.inc({ task });
  }

  occurrenceMissed(task: string, count = 1): void {
    this.missed.inc({ task }, count);
  }

  alertRaised(rule: string): void {
    this.alerts.inc({ rule });
  }

  alertHeldBack(rule: string): void {
    this.heldBack.inc({ rule });
  }

  delivery(channel: string, ok: boolean): void {
    this.deliveries.inc({ channel, outcome: ok ? "sent" : "failed" });
  }

  /** A removed task's series go (Prometheus would otherwise keep showing them). */
  forgetTask(task: string): void {
    this.lastSuccess.remove({ task });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

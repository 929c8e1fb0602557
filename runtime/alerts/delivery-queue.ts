import type { HostLog } from "../scheduler/scheduler-types.ts";
import type { AlertChannel } from "./alert-channel.ts";
import type { AlertMessage } from "./alert-message.ts";

export interface DeliveryOptions {
  log: HostLog;
  /** Alerts waiting per channel; beyond, the oldest is dropped (and logged). */
  maxQueued?: number;
  /** Attempts per alert before it is given up. */
  maxAttempts?: number;
  /** Wait before attempt n+1 (n >= 1); default 2 s, 4 s, 8 s … at most 5 min. */
  retryDelayMs?: (attempt: number) => number;
  /** Told of every attempt (metrics). */
  onAttempt?: (channel: AlertChannel, ok: boolean) => void;
}

/** What `status` and the dashboard show of a channel. */
export interface ChannelHealth {
  name: string;
  type: string;
  /** ok: the last attempt went through (or none yet); failing: three attempts in a row failed, or an alert was given up since the last success. */
  state: "ok" | "failing";
  queued: number;
  sent: number;
  failedAttempts: number;
  givenUp: number;
  dropped: number;
  consecutiveFailures: number;
  lastError: string | null;
  /** ISO-8601 UTC, as every time in the JSON shapes. */
  lastErrorAt: string | null;
  lastSuccessAt: string | null;
}

/** Failing after this many attempts in a row went wrong. */
const FAILING_AFTER = 3;

interface Item {
  message: AlertMessage;
  attempt: number;
}

/**
 * One channel's outbox: alerts are sent one at a time, in order, each retried
 * with backoff; the queue is bounded, so a channel that is down for days costs
 * a fixed amount of memory. `push` never waits and never throws: a run or the
 * scheduler handing an alert over is never held up by the far end.
 */
export class DeliveryQueue {
  private readonly items: Item[] = [];
  private busy = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly health: ChannelHealth;
  private readonly maxQueued: number;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: (attempt: number) => number;

  constructor(
    readonly channel: AlertChannel,
    private readonly options: DeliveryOptions,
  ) {
    this.maxQueued = options.maxQueued ?? 100;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.retryDelayMs = options.retryDelayMs ?? ((n) => Math.min(300_000, 2000 * 2 ** (n - 1)));
    this.health = {
      name: channel.name,
      type: channel.type,
      state: "ok",
      queued: 0,
      sent: 0,
      failedAttempts: 0,
      givenUp: 0,
      dropped: 0,
      consecutiveFailures: 0,
      lastError: null,
      lastErrorAt: null,
      lastSuccessAt: null,
    };
  }

  push(message: AlertMessage): void {
    if (this.closed) return;
    if (this.items.length >= this.maxQueued) {
      const dropped = this.items.shift()!;
      this.health.dropped++;
      this.options.log.error(
        { event: "alert.dropped", channel: this.channel.name, alert: dropped.message.event, taskId: dropped.message.task.id },
        `alert channel ${this.channel.name}: ${this.maxQueued} alerts waiting; dropped the oldest (${dropped.message.event} of ${dropped.message.task.id})`,
      );
    }
    this.items.push({ message, attempt: 0 });
    this.pump();
  }

  status(): ChannelHealth {
    return { ...this.health, queued: this.items.length };
  }

  /** Resolves when nothing is waiting or in flight (tests, a clean stop). */
  idle(): Promise<void> {
    if (!this.busy && this.items.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops at once: what is queued is dropped (it is in the ledger and the log, and said here), an
   * attempt in flight is cancelled. `why`: the host stopping, or a reload that replaced the channel.
   */
  close(why = "the host is stopping"): void {
    if (this.closed) return;
    this.closed = true;
    if (this.items.length > 0) {
      const what = this.items.map((item) => `${item.message.event} of ${item.message.task.id}`);
      this.options.log.warn(
        { event: "alert.undelivered", channel: this.channel.name, count: what.length, alerts: what },
        `alert channel ${this.channel.name}: ${what.length} alert(s) not delivered, ${why}: ${what.slice(0, 5).join(", ")}${what.length > 5 ? ", …" : ""} (\`taskhost alerts\` lists them)`,
      );
    }
    clearTimeout(this.timer);
    this.abort.abort();
    this.items.length = 0;
    this.wakeIdle();
  }

  private pump(): void {
    if (this.busy || this.closed || this.items.length === 0) return;
    this.busy = true;
    void this.attempt(this.items[0]!).catch((error: unknown) => {
      this.options.log.error({ event: "alert.error", channel: this.channel.name, err: error }, `alert channel ${this.channel.name}: ${String(error)}`);
    });
  }

  private async attempt(item: Item): Promise<void> {
    item.attempt++;
    const { message } = item;
    const fields = { channel: this.channel.name, type: this.channel.type, alert: message.event, taskId: message.task.id, attempt: item.attempt };
    let ok = true;
    try {
      await this.channel.send(message, this.abort.signal);
    } catch (error) {
      ok = false;
      if (this.closed) return;
      const reason = error instanceof Error ? error.message : String(error);
      this.health.failedAttempts++;
      this.health.consecutiveFailures++;
      this.health.lastError = reason;
      this.health.lastErrorAt = new Date().toISOString();
      if (this.health.consecutiveFailures >= FAILING_AFTER) this.health.state = "failing";
      const last = item.attempt >= this.maxAttempts;
      this.options.log.warn(
        { event: "alert.attempt.failed", ...fields, error: reason, retryInMs: last ? null : this.retryDelayMs(item.attempt) },
        `alert ${message.event} of ${message.task.id} to ${this.channel.name}: attempt ${item.attempt} failed: ${reason}`,
      );
      if (last) {
        this.items.shift();
        this.health.givenUp++;
        this.health.state = "failing";
        this.options.log.error({ event: "alert.gave_up", ...fields, error: reason }, `alert ${message.event} of ${message.task.id} to ${this.channel.name}: given up after ${item.attempt} attempts`);
      }
    } finally {
      if (!this.closed) this.options.onAttempt?.(this.channel, ok);
    }
    if (this.closed) return;
    if (ok) {
      this.items.shift();
      this.health.sent++;
      this.health.consecutiveFailures = 0;
      this.health.state = "ok";
      this.health.lastSuccessAt = new Date().toISOString();
      this.options.log.info({ event: "alert.sent", ...fields }, `alert ${message.event} of ${message.task.id} sent to ${this.channel.name}`);
      this.next(0);
    } else {
      // The same alert again after a backoff, or (given up) the next one after the same pause.
      this.next(this.retryDelayMs(item.attempt));
    }
  }

  private next(delayMs: number): void {
    const go = () => {
      this.busy = false;
      if (this.items.length === 0) this.wakeIdle();
      this.pump();
    };
    if (delayMs <= 0) go();
    else this.timer = setTimeout(go, delayMs);
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

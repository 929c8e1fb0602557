import type { HostLog } from "../scheduler/scheduler-types.ts";
import { sendPing } from "./send-ping.ts";

export interface HostHeartbeatOptions {
  /** `alerts.heartbeat_url`, read at each beat (a reload applies at the next). */
  url(): string | null;
  /** Whether the scheduler loop is alive (started, not stopping). */
  alive(): boolean;
  log: HostLog;
  intervalMs?: number;
}

/** Every minute; TASKHOST_HEARTBEAT_INTERVAL (seconds) changes it, for tests and monitors with tight periods. */
export function heartbeatIntervalMs(env: NodeJS.ProcessEnv = process.env): number {
  const sec = Number(env.TASKHOST_HEARTBEAT_INTERVAL);
  return Number.isFinite(sec) && sec > 0 ? sec * 1000 : 60_000;
}

/**
 * Pings `alerts.heartbeat_url` at once and every minute while the host's
 * event loop turns and its scheduler runs. A host that died, hangs (a blocked
 * loop, SIGSTOP) or lost its machine stops pinging, and the monitor at that
 * URL (Healthchecks.io, Uptime Kuma, Cronitor) raises the alarm, which no
 * process can do about its own death. Returns the stop function.
 */
export function startHostHeartbeat(options: HostHeartbeatOptions): () => void {
  const abort = new AbortController();
  const beat = () => {
    const url = options.url();
    if (!url || !options.alive()) return;
    sendPing(url, "heartbeat", options.log, { scope: "host" }, undefined, abort.signal).catch((error: unknown) =>
      options.log.error({ event: "ping.error", err: error }, `heartbeat: ${String(error)}`),
    );
  };
  beat();
  const timer = setInterval(beat, options.intervalMs ?? heartbeatIntervalMs());
  // The heartbeat alone must not keep a stopping process alive.
  timer.unref();
  return () => {
    clearInterval(timer);
    abort.abort();
  };
}

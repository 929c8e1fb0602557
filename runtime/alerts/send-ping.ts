import type { HostLog } from "../scheduler/scheduler-types.ts";
import { httpRequest, requestFailure } from "./http-request.ts";
import { redact } from "./post-json.ts";

const PING_TIMEOUT_MS = 10_000;
/** A ping is worth a couple of quick retries, not a queue: the next one is due soon anyway. */
const PING_ATTEMPTS = 3;
/** Healthchecks.io keeps the first 100 kB of a ping body. */
const MAX_BODY = 100_000;

export type PingKind = "start" | "success" | "fail" | "heartbeat";

/** `<url>/start`, `<url>`, `<url>/fail` (the Healthchecks.io protocol, also Cronitor and others). */
export function pingTarget(url: string, kind: PingKind): string {
  const base = url.replace(/\/+$/, "");
  const u = new URL(base);
  if (kind === "start" || kind === "fail") u.pathname = `${u.pathname.replace(/\/+$/, "")}/${kind}`;
  return u.toString();
}

/**
 * One ping: GET, or POST with a text body (the run's output for /fail).
 * Never throws; a ping that fails three times is logged and left: the far
 * end notices the missing ping, which is the point of pinging.
 */
export async function sendPing(url: string, kind: PingKind, log: HostLog, fields: object, body?: string, signal?: AbortSignal): Promise<boolean> {
  const target = pingTarget(url, kind);
  let reason = "";
  for (let attempt = 1; attempt <= PING_ATTEMPTS; attempt++) {
    const timeout = AbortSignal.timeout(PING_TIMEOUT_MS);
    try {
      const answer = await httpRequest(target, {
        method: body === undefined ? "GET" : "POST",
        headers: { "user-agent": "taskhost", ...(body === undefined ? {} : { "content-type": "text/plain; charset=utf-8" }) },
        ...(body === undefined ? {} : { body: body.slice(-MAX_BODY) }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      if (answer.status >= 200 && answer.status < 300) {
        log.debug({ event: "ping.sent", kind, ...fields }, `ping ${kind} ${redact(target)}`);
        return true;
      }
      reason = `HTTP ${answer.status}`;
    } catch (error) {
      if (signal?.aborted) return false;
      reason = requestFailure(error, timeout, PING_TIMEOUT_MS);
    }
    if (attempt < PING_ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
  }
  log.warn({ event: "ping.failed", kind, url: redact(target), error: reason, ...fields }, `ping ${kind} to ${redact(target)} failed: ${reason}`);
  return false;
}

import { httpRequest, requestFailure, type HttpAnswer } from "./http-request.ts";

/** How long one POST may take before it counts as failed (and is retried). */
export const POST_TIMEOUT_MS = 10_000;

/**
 * POSTs a JSON body and throws unless the answer is 2xx. The error says what
 * the far end said, or why nothing answered (refused, timed out, DNS).
 */
export async function postJson(url: string, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<void> {
  const timeout = AbortSignal.timeout(POST_TIMEOUT_MS);
  let answer: HttpAnswer;
  try {
    answer = await httpRequest(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "taskhost", ...headers },
      body,
      signal: AbortSignal.any([signal, timeout]),
    });
  } catch (error) {
    throw new Error(`POST ${redact(url)}: ${requestFailure(error, timeout, POST_TIMEOUT_MS)}`);
  }
  if (answer.status >= 200 && answer.status < 300) return;
  const text = answer.text.slice(0, 200);
  throw new Error(`POST ${redact(url)}: HTTP ${answer.status}${text ? `: ${text}` : ""}`);
}

/** Slack and many webhooks carry their token in the path: logs show only the origin. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname.length > 1 ? "/…" : "/"}`;
  } catch {
    return "(bad URL)";
  }
}

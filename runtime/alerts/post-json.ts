/** How long one POST may take before it counts as failed (and is retried). */
export const POST_TIMEOUT_MS = 10_000;

/**
 * POSTs a JSON body and throws unless the answer is 2xx. The error says what
 * the far end said, or why nothing answered (refused, timed out, DNS).
 */
export async function postJson(url: string, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "taskhost", ...headers },
      body,
      signal: AbortSignal.any([signal, AbortSignal.timeout(POST_TIMEOUT_MS)]),
    });
  } catch (error) {
    throw new Error(`POST ${redact(url)}: ${why(error)}`);
  }
  if (response.ok) {
    await response.body?.cancel().catch(() => {});
    return;
  }
  const text = (await response.text().catch(() => "")).slice(0, 200);
  throw new Error(`POST ${redact(url)}: HTTP ${response.status}${text ? `: ${text}` : ""}`);
}

function why(error: unknown): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError") return `no answer within ${POST_TIMEOUT_MS / 1000}s`;
  if (e?.name === "AbortError") return "cancelled (the host is stopping)";
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error);
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

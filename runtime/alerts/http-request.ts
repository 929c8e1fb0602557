import http from "node:http";
import https from "node:https";

export interface HttpAnswer {
  status: number;
  /** The start of the answer's body (for an error message). */
  text: string;
}

export interface HttpRequestOptions {
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

/** Redirects followed, as fetch would (an http:// URL that moved to https://). */
const MAX_REDIRECTS = 5;
/** Of an answer's body, what an error message may quote. */
const MAX_TEXT = 1000;

/**
 * One HTTP(S) request through node:http: Node's fetch refuses the ports browsers
 * block (6000, 6665–6669, 10080 …) with a bare "bad port", and a webhook
 * receiver or a monitor may well listen on one. Follows redirects as fetch does
 * (303, and 301/302 after a POST, turn into a GET). Rejects with the socket's
 * error (its `code`: ECONNREFUSED, ENOTFOUND …) or the signal's.
 */
export async function httpRequest(url: string, options: HttpRequestOptions, redirects = 0): Promise<HttpAnswer> {
  const target = new URL(url);
  if (target.protocol !== "http:" && target.protocol !== "https:") throw new Error(`${target.protocol} URLs are not supported (http: or https:)`);
  const { body } = options;
  const answer = await new Promise<HttpAnswer & { location?: string }>((resolve, reject) => {
    const request = (target.protocol === "https:" ? https : http).request(
      target,
      {
        method: options.method,
        headers: { ...options.headers, ...(body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) }) },
        signal: options.signal,
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const location = response.headers.location;
        // A 2xx or a redirect is all the answer there is to read: a body that comes slowly, or never ends, must not time the request out.
        if ((status >= 200 && status < 300) || location) {
          response.destroy();
          return resolve({ status, text: "", ...(location ? { location } : {}) });
        }
        let text = "";
        response.setEncoding("utf8");
        const done = () => resolve({ status, text: text.slice(0, MAX_TEXT) });
        response.on("data", (chunk: string) => {
          text += chunk;
          // What an error message quotes, not a whole error page.
          if (text.length >= MAX_TEXT) {
            response.destroy();
            done();
          }
        });
        response.on("end", done);
        response.on("error", () => done());
      },
    );
    request.on("error", reject);
    request.end(body);
  });
  if (answer.location && [301, 302, 303, 307, 308].includes(answer.status) && redirects < MAX_REDIRECTS) {
    const next = new URL(answer.location, target).href;
    const keep = answer.status === 307 || answer.status === 308 || (options.method === "GET" && answer.status !== 303);
    const { body: _dropped, ...rest } = options;
    return httpRequest(next, keep ? options : { ...rest, method: "GET" }, redirects + 1);
  }
  return { status: answer.status, text: answer.text };
}

/** Why a request got no answer: timed out, cancelled (the host stopping), or the socket's error code. */
export function requestFailure(error: unknown, timeout: AbortSignal, timeoutMs: number): string {
  if (timeout.aborted) return `no answer within ${timeoutMs / 1000}s`;
  const e = error as { name?: string; code?: string; message?: string };
  if (e?.name === "AbortError") return "cancelled (the host is stopping)";
  return e?.code ?? e?.message ?? String(error);
}

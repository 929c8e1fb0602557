import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { errorJson } from "./dashboard-api.ts";

/** A request body from someone who has not logged in (the login form's token) is tiny. */
export const MAX_ANONYMOUS_BODY_BYTES = 16 * 1024;
/** The API takes small JSON bodies; this leaves room for task files sent from the page. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Refuses a request body over the limit with 413 ERR_PAYLOAD_TOO_LARGE, on every
 * route (issue 10.6): a Content-Length over it is refused before a byte of the body
 * is read, a chunked body as soon as it passes the limit (hono's bodyLimit). What the
 * client still sends is discarded unread by @hono/node-server, which closes the
 * connection after 500 ms or 64 MB (closing at once would reset the connection
 * before the client has read the 413).
 * `authenticated` is checked from the headers only: an anonymous caller gets the small limit.
 */
export function requestBodyLimit(authenticated: (c: Context) => boolean): MiddlewareHandler {
  const refuse = (limit: number) => (c: Context) => errorJson(c, 413, `request body over ${limit} bytes`);
  const anonymous = bodyLimit({ maxSize: MAX_ANONYMOUS_BODY_BYTES, onError: refuse(MAX_ANONYMOUS_BODY_BYTES) });
  const signedIn = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: refuse(MAX_BODY_BYTES) });
  return (c, next) => (authenticated(c) ? signedIn(c, next) : anonymous(c, next));
}

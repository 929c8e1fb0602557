import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Context } from "hono";
import { getCookie, setCookie, deleteCookie } from "hono/cookie";

/** A session lasts this long after logging in (the cookie's Max-Age). */
export const SESSION_SEC = 7 * 24 * 3600;

/** Written (mode 0600) when neither `dashboard.token` nor TASKHOST_DASHBOARD_TOKEN is set (loopback only). */
export const TOKEN_FILE = "dashboard-token";

export type AuthKind = "bearer" | "cookie";

/**
 * The token of a dashboard with none configured: read from `data/dashboard-token`,
 * or made (32 random bytes) and written there, owner-only, on first start, so
 * it stays the same across restarts.
 */
export async function generatedToken(dataDir: string): Promise<{ token: string; file: string }> {
  const file = path.join(dataDir, TOKEN_FILE);
  const existing = (await readFile(file, "utf8").catch(() => "")).trim();
  if (existing) return { token: existing, file };
  const token = randomBytes(32).toString("base64url");
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { token, file };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Token and session checks. A session cookie is `<expiry>.<HMAC(token, expiry)>`:
 * nothing is kept in memory, a restart keeps people logged in, and changing the
 * token logs every session out.
 */
export class DashboardAuth {
  constructor(
    private readonly token: () => string,
    private readonly port: () => number,
  ) {}

  /** Cookies are not separated by port: two dashboards on one machine get two names. */
  get cookieName(): string {
    return `taskhost_session_${this.port()}`;
  }

  checkToken(candidate: string): boolean {
    return sameSecret(candidate, this.token());
  }

  /** How the request is authenticated, or null. A wrong Bearer token never falls back to the cookie. */
  authOf(c: Context): AuthKind | null {
    const header = c.req.header("authorization");
    if (header) {
      const match = /^Bearer\s+(.+)$/i.exec(header.trim());
      return match && this.checkToken(match[1]!.trim()) ? "bearer" : null;
    }
    const cookie = getCookie(c, this.cookieName);
    return cookie && this.validSession(cookie) ? "cookie" : null;
  }

  startSession(c: Context): void {
    const expires = Date.now() + SESSION_SEC * 1000;
    setCookie(c, this.cookieName, `${expires}.${this.sign(expires)}`, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      maxAge: SESSION_SEC,
    });
  }

  endSession(c: Context): void {
    deleteCookie(c, this.cookieName, { path: "/", httpOnly: true, sameSite: "Strict" });
  }

  private sign(expires: number): string {
    return createHmac("sha256", this.token()).update(`taskhost-session:${expires}`).digest("base64url");
  }

  private validSession(value: string): boolean {
    const [expiresText, signature] = value.split(".");
    const expires = Number(expiresText);
    if (!signature || !Number.isFinite(expires) || expires < Date.now()) return false;
    return sameSecret(signature, this.sign(expires));
  }
}

/**
 * Whether a browser sent this request from the dashboard's own origin. Browsers
 * send `Origin` on every POST and `Sec-Fetch-Site` on every request; a request
 * carrying neither is not from a browser page and gets no benefit of the doubt
 * when it rides on a cookie (the caller decides).
 */
export function fromSameOrigin(c: Context, { requireOrigin }: { requireOrigin: boolean }): boolean {
  const site = c.req.header("sec-fetch-site");
  if (site && site !== "same-origin" && site !== "none") return false;
  const origin = c.req.header("origin");
  if (!origin) return !requireOrigin;
  try {
    return new URL(origin).host === c.req.header("host");
  } catch {
    return false; // "null" and other opaque origins
  }
}

import type { DependencyInstallError } from "./dependency-install-error.ts";

/**
 * After a task's dependencies failed to install, when to try again on its own,
 * without a save: a host started while the network was down (a laptop waking,
 * a server booting before its link is up) or a registry outage must not leave
 * the task broken until someone edits its file. Doubling from 15 s to half an
 * hour, then every half hour for as long as it lasts: an install that keeps
 * failing costs one npm run per half hour.
 */
export const INSTALL_RETRY_FIRST_MS = 15_000;
export const INSTALL_RETRY_MAX_MS = 30 * 60_000;

/**
 * npm's codes for a registry it could not reach or that failed on its side
 * (`npm error code ECONNREFUSED`, `E503`, `npm error network …`), and a
 * certificate "not yet valid" or "expired": a machine that boots with its clock
 * wrong (no RTC) sees those until NTP has set it. A 404, a
 * version that does not exist (ETARGET) or a conflict (ERESOLVE) stays as it
 * is until the file changes, so it is not retried.
 */
const TRANSIENT_NPM =
  /\b(ECONNREFUSED|ECONNRESET|ECONNABORTED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ESOCKETTIMEDOUT|ERR_SOCKET_TIMEOUT|EHOSTUNREACH|ENETUNREACH|ENETDOWN|EPIPE|EPROTO|ERR_STREAM_PREMATURE_CLOSE|E408|E429|E5\d\d|CERT_NOT_YET_VALID|CERT_HAS_EXPIRED)\b|\bnpm error network\b/;

/** Whether trying the same install again later may succeed. */
export function installMayRecover(error: DependencyInstallError): boolean {
  switch (error.reason) {
    case "invalid-spec":
    case "closed":
      return false;
    case "npm-failed":
      return TRANSIENT_NPM.test([error.message, ...error.npmErrors].join("\n"));
    // npm ran past install_timeout (a slow or stalled registry), could not be started, or the disk failed.
    case "timeout":
    case "spawn-failed":
    case "io":
      return true;
  }
}

/** The delay before the next attempt after `failures` failed installs in a row (1: the first), or null: none. */
export function installRetryDelayMs(error: DependencyInstallError, failures: number): number | null {
  if (!installMayRecover(error)) return null;
  return Math.min(INSTALL_RETRY_MAX_MS, INSTALL_RETRY_FIRST_MS * 2 ** Math.max(0, failures - 1));
}

import { describe, expect, it } from "vitest";
import { DependencyInstallError, type DependencyInstallFailure } from "../runtime/deps/dependency-install-error.ts";
import { INSTALL_RETRY_MAX_MS, installMayRecover, installRetryDelayMs } from "../runtime/deps/install-retry.ts";

const failure = (reason: DependencyInstallFailure, npmErrors: string[] = []) =>
  new DependencyInstallError(`could not install x@1: npm exited with code 1\n${npmErrors.join("\n")}`, reason, ["x@1"], npmErrors, 1);

/** Which failed installs the catalog tries again without a save, and when (install-retry.ts). */
describe("installRetryDelayMs", () => {
  it("retries what the network or the registry's side caused, not what the file asks for", () => {
    for (const lines of [
      ["npm error code ECONNREFUSED", "npm error syscall connect"],
      ["npm error code ENOTFOUND", "npm error network request to https://registry.npmjs.org/x failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org"],
      ["npm error code EAI_AGAIN"],
      ["npm error code ETIMEDOUT"],
      ["npm error code E503", "npm error 503 Service Unavailable - GET https://registry.npmjs.org/x"],
      ["npm error code E429"],
      ["npm http fetch GET https://registry.npmjs.org/x attempt 1 failed with ECONNRESET"],
      // A machine that booted with its clock wrong, before NTP set it.
      ["npm error code CERT_NOT_YET_VALID", "npm error errno CERT_NOT_YET_VALID"],
    ]) {
      expect(installMayRecover(failure("npm-failed", lines)), lines[0]).toBe(true);
    }
    for (const lines of [
      ["npm error code E404", "npm error 404 Not Found - GET http://127.0.0.1:4873/th-fixture-nope"],
      ["npm error code ETARGET", "npm error notarget No matching version found for x@^9."],
      ["npm error code ERESOLVE"],
      ["npm error code ELIFECYCLE"],
      [],
    ]) {
      expect(installMayRecover(failure("npm-failed", lines)), lines[0] ?? "no lines").toBe(false);
    }
    expect(installMayRecover(failure("invalid-spec"))).toBe(false);
    expect(installMayRecover(failure("closed"))).toBe(false);
    for (const reason of ["timeout", "spawn-failed", "io"] as const) expect(installMayRecover(failure(reason)), reason).toBe(true);
  });

  it("doubles from 15 s to half an hour, then stays there", () => {
    const offline = failure("npm-failed", ["npm error code ECONNREFUSED"]);
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => installRetryDelayMs(offline, n))).toEqual([
      15_000, 30_000, 60_000, 120_000, 240_000, 480_000, 960_000, INSTALL_RETRY_MAX_MS, INSTALL_RETRY_MAX_MS,
    ]);
    expect(installRetryDelayMs(failure("npm-failed", ["npm error code E404"]), 1)).toBeNull();
  });
});

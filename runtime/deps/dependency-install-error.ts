export { ERR_DEPENDENCY_INSTALL } from "../errors.ts";
import { ERR_DEPENDENCY_INSTALL } from "../errors.ts";

/** Why an install did not happen. */
export type DependencyInstallFailure =
  /** A spec npm must never see (flag, path, URL, git, two versions of one package). */
  | "invalid-spec"
  /** npm ran and exited non-zero (404, offline, ERESOLVE, a failing install script...). */
  | "npm-failed"
  /** npm ran past `install_timeout` and its process group was killed. */
  | "timeout"
  /** npm could not be started (not on PATH). */
  | "spawn-failed"
  /** `DependencyInstaller.close()` stopped it. */
  | "closed"
  /** Anything else: the file system, mostly. */
  | "io";

/**
 * A task's dependencies could not be installed. The message names the specs
 * and carries npm's own `npm error` lines, so it can be shown as the task's
 * error as it is (contract §5: "an error task with npm's message").
 */
export class DependencyInstallError extends Error {
  readonly code = ERR_DEPENDENCY_INSTALL;
  constructor(
    message: string,
    readonly reason: DependencyInstallFailure,
    readonly specs: readonly string[],
    /** The useful `npm error` lines (empty when npm did not run or said nothing). */
    readonly npmErrors: readonly string[] = [],
    readonly exitCode: number | null = null,
  ) {
    super(message);
    this.name = "DependencyInstallError";
  }
}

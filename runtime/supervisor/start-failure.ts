import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * The last host that failed to start or crashed, as its supervisor saw it:
 * `taskhost restart` and `start --daemon` read it to say at once why the new
 * host is not coming up, instead of waiting for a host that never answers.
 */
export const START_FAILURE_FILE = "host-start-failure.json";

export interface StartFailure {
  /** ms since the epoch. */
  at: number;
  hostPid: number | null;
  /** What went wrong, from the host itself where it could say. */
  message: string;
  /** The supervisor stopped trying (a host that cannot start, or a crash loop). */
  gaveUp: boolean;
}

export function writeStartFailure(dataDir: string, failure: StartFailure): void {
  try {
    writeFileSync(path.join(dataDir, START_FAILURE_FILE), `${JSON.stringify(failure)}\n`);
  } catch {
    // Only a hint for commands; the supervisor says the same on its own output.
  }
}

/** The recorded failure if it happened at or after `since` (ms). */
export function readStartFailure(dataDir: string, since: number): StartFailure | null {
  try {
    const failure = JSON.parse(readFileSync(path.join(dataDir, START_FAILURE_FILE), "utf8")) as StartFailure;
    return failure.at >= since ? failure : null;
  } catch {
    return null;
  }
}

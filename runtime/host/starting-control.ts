/**
 * The control socket of a host that is not up yet because its PostgreSQL
 * ledger cannot be reached. Such a host retries for as long as it takes (a
 * fleet's database rebooting), so it must not look absent meanwhile: without
 * a socket, `status` waited 15 s and failed, and `stop` said "no host is
 * running" while the host went on. The socket opens at the first failed try
 * and answers `ping`, `status` (saying what the host waits for) and
 * `stop`/`restart`; anything else is refused with ERR_HOST_BUSY. Once the host
 * is up it serves every request on this same socket (host-faces.ts), so no
 * command ever finds it gone in between.
 */
import type { ConfigProblem } from "../config/last-good-config.ts";
import { ERR_DB_UNREACHABLE, ERR_HOST_BUSY, taskhostError } from "../errors.ts";
import { startControlServer, type ControlHandler, type ControlServer } from "./control-server.ts";
import type { DatabaseWaitJson, LastCrashJson, StatusJson } from "./report-shapes.ts";

export interface StopRequest {
  reason: string;
  graceSec?: number;
  restart: boolean;
}

/** The request that stands of two asked for before the host is up: the first, unless a stop follows a restart (a closing terminal sends both). */
export function standingStopRequest(first: StopRequest | null | undefined, next: StopRequest): StopRequest {
  return !first || (first.restart && !next.restart) ? next : first;
}

export interface StartingControlOptions {
  socketPath: string;
  /** The PID users see (the supervisor's). */
  pid: number;
  startedAt: number;
  restarts: number;
  /** How the previous host ended, when a supervisor restarted it after a crash. */
  lastCrash?: LastCrashJson | null;
  /** database.url without its password. */
  where: string;
  configError: ConfigProblem | null;
  configWarnings: string[];
  /** A stop or restart asked for before the host is up (it has no runs: nothing to give grace to). */
  onStop(request: StopRequest): void;
  onError(error: unknown): void;
}

export class StartingControl {
  private wait: DatabaseWaitJson | null = null;
  private opening: Promise<ControlServer | null> | null = null;
  /** The ledger opened: later warnings (a database that restarts under a running host) are not a start's wait. */
  private connected = false;

  constructor(private readonly options: StartingControlOptions) {}

  /** A ledger warning: ERR_DB_UNREACHABLE means the host is waiting; the first one opens the socket. */
  storeWarning(message: string, code: string | undefined): void {
    // Once connected, the host's own server answers on the socket: this one must never replace it.
    if (code !== ERR_DB_UNREACHABLE || this.connected) return;
    const since = this.wait?.since ?? new Date().toISOString();
    this.wait = { state: "unreachable", url: this.options.where, code, error: message, since, tries: (this.wait?.tries ?? 0) + 1 };
    this.opening ??= startControlServer(this.options.socketPath, this.handlers(), this.options.onError, this.busy).catch((error: unknown) => {
      // The host still starts once its database answers; it opens its socket then.
      this.options.onError(error);
      return null;
    });
  }

  /** The ledger opened: until the host serves everything, `status` says it loads its tasks. */
  databaseConnected(): void {
    this.connected = true;
    if (this.wait) this.wait = { ...this.wait, state: "connected", code: null, error: null };
  }

  /** The socket opened while waiting, if one was: the host serves every request on it once up. */
  async server(): Promise<ControlServer | null> {
    return this.opening ? this.opening : null;
  }

  private readonly busy: ControlHandler = async () => {
    throw taskhostError(
      ERR_HOST_BUSY,
      `taskhost: the host (pid ${this.options.pid}) is ${this.wait?.state === "unreachable" ? `waiting for its database (${this.options.where})` : "starting"}; ` +
        "only status and stop work until it is up. `taskhost status` says what it waits for",
    );
  };

  private handlers(): Record<string, ControlHandler> {
    const { pid } = this.options;
    const stop = (request: StopRequest) =>
      // Answer first, then stop: the caller waits for the process to go away.
      setImmediate(() => this.options.onStop(request));
    return {
      ping: async () => ({ pid, hostPid: process.pid, running: 0, starting: true, waiting: this.waiting() }),
      status: async () => this.status(),
      stop: async (params) => {
        stop({ reason: typeof params.reason === "string" ? params.reason : "stop requested", restart: false });
        return { stopping: true, pid };
      },
      restart: async () => {
        stop({ reason: "taskhost restart", restart: true });
        return { restarting: true, pid, hostPid: process.pid, running: 0 };
      },
    };
  }

  /** What `start --daemon` and `restart` say of a host that came up waiting: it is started, but runs nothing yet. */
  private waiting(): string | null {
    if (this.wait?.state !== "unreachable") return null;
    return (
      `it is waiting for its database: ${this.options.where} cannot be reached (${this.wait.code}); it retries, and no task runs until it answers. ` +
      "`npx taskhost status` shows its tries"
    );
  }

  private status(): StatusJson {
    const { options } = this;
    return {
      host: {
        running: true,
        pid: options.pid,
        uptimeSec: Math.round((Date.now() - options.startedAt) / 1000),
        rssMb: Math.round((process.memoryUsage.rss() / 1024 / 1024) * 10) / 10,
        restarts: options.restarts,
        lastCrash: options.lastCrash ?? null,
        configError: options.configError,
        configWarnings: options.configWarnings,
        starting: true,
        database: this.wait,
      },
      // Not loaded yet: the task files are read once the ledger is open (`status` with no host reads them from the ledger).
      tasks: [],
      hosts: [],
    };
  }
}

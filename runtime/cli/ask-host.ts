import { runningHostPid } from "../host/host-lock.ts";
import { callHost, ERR_NO_HOST } from "./control-client.ts";
import type { CliContext } from "./cli-context.ts";

/** How long a command waits for a restarting host (a restart takes a few seconds). */
const RESTART_WAIT_MS = 15_000;

/**
 * Asks the running host. Between an old host and its replacement (`restart`, a
 * memory restart, SIGHUP) the supervisor holds the lock and nobody answers the
 * socket: the command waits a few seconds for the new host instead of failing.
 * With no host at all it rejects with ERR_NO_HOST at once, for the offline path.
 */
export async function askHost<T>(ctx: CliContext, method: string, params: Record<string, unknown> = {}): Promise<T> {
  const deadline = Date.now() + RESTART_WAIT_MS;
  for (;;) {
    try {
      return await callHost<T>(ctx.files.socket, method, params);
    } catch (error) {
      if ((error as { code?: string }).code !== ERR_NO_HOST) throw error;
      const holder = await runningHostPid(ctx.files.pidFile);
      if (holder == null) throw error;
      if (Date.now() > deadline) {
        throw Object.assign(
          new Error(`taskhost: the host (pid ${holder}) is starting or restarting and did not answer within ${RESTART_WAIT_MS / 1000} s; try again in a moment`),
          { code: "ERR_HOST_BUSY" },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

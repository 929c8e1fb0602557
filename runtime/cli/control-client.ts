import net from "node:net";
import type { ControlResponse } from "../host/control-protocol.ts";
import { socketAddress, type SocketAddress } from "../host/socket-address.ts";

export { ERR_NO_HOST } from "../errors.ts";
import { ERR_NO_HOST, taskhostError } from "../errors.ts";

/**
 * Sends one request to the running host (a read-only one is retried once if the
 * connection is reset). Rejects with ERR_NO_HOST when no host
 * listens on the socket, so commands can fall back to reading the database.
 */
/** Requests that change nothing: safe to send again when a busy host reset the connection. */
const READ_ONLY = new Set(["ping", "status", "history", "check-overdue"]);

export async function callHost<T = unknown>(socketPath: string, method: string, params: Record<string, unknown> = {}, timeoutMs = 0): Promise<T> {
  try {
    return await callOnce<T>(socketPath, method, params, timeoutMs);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!READ_ONLY.has(method) || (code !== "ECONNRESET" && code !== "EPIPE")) throw error;
    return callOnce<T>(socketPath, method, params, timeoutMs);
  }
}

function callOnce<T>(socketPath: string, method: string, params: Record<string, unknown>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let address: SocketAddress;
    try {
      address = socketAddress(socketPath);
    } catch (error) {
      // No socket folder: no host has ever run here (or data/ is gone).
      if ((error as NodeJS.ErrnoException).code === "ENOENT") reject(taskhostError(ERR_NO_HOST, "taskhost: no host is running for this project"));
      else reject(error);
      return;
    }
    const socket = net.connect(address.path);
    socket.once("connect", () => address.release());
    socket.once("close", () => address.release());
    let buffer = "";
    let timer: NodeJS.Timeout | undefined;
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`taskhost: the host did not answer "${method}" within ${timeoutMs / 1000}s`));
      }, timeoutMs);
    }
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(JSON.stringify({ id: 1, method, params }) + "\n"));
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      const newline = buffer.indexOf("\n");
      if (newline < 0) return;
      clearTimeout(timer);
      socket.end();
      const response = JSON.parse(buffer.slice(0, newline)) as ControlResponse;
      if ("error" in response) reject(Object.assign(new Error(response.error.message), { code: response.error.code }));
      else resolve(response.result as T);
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === "ENOENT" || error.code === "ECONNREFUSED") {
        reject(taskhostError(ERR_NO_HOST, "taskhost: no host is running for this project"));
      } else reject(error);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      if (!buffer.includes("\n")) reject(new Error(`taskhost: the host closed the connection before answering "${method}"`));
    });
  });
}

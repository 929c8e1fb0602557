import net from "node:net";
import { chmod, unlink } from "node:fs/promises";
import path from "node:path";
import type { ControlRequest, ControlResponse } from "./control-protocol.ts";
import { preparePrivateDir, socketAddress } from "./socket-address.ts";

export type ControlHandler = (params: Record<string, unknown>) => Promise<unknown>;

export interface ControlServer {
  /**
   * Answers with these handlers from now on (`otherwise` for a method they lack): a host
   * opens its socket while it still waits for its database, and serves every request once up.
   */
  serve(handlers: Record<string, ControlHandler>, otherwise?: ControlHandler): void;
  close(): Promise<void>;
}

/**
 * The running host's local control socket: how every other command talks to
 * it while it owns the database. Only its owner may connect (mode 0600), in a
 * folder only its owner may enter (0700, checked at each start).
 */
export async function startControlServer(
  socketPath: string,
  handlers: Record<string, ControlHandler>,
  onError: (error: unknown) => void,
  otherwise?: ControlHandler,
): Promise<ControlServer> {
  let table = { handlers, otherwise };
  preparePrivateDir(path.dirname(socketPath));
  // We hold the host lock, so a socket file left here is a dead host's.
  await unlink(socketPath).catch(() => {});
  // Held open until the server closes: a long path is bound, and unlinked on close, through it.
  const address = socketAddress(socketPath);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let buffer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.trim()) handle(line, socket).catch(onError);
      }
    });
  });
  async function handle(line: string, socket: net.Socket): Promise<void> {
    let request: ControlRequest;
    try {
      request = JSON.parse(line) as ControlRequest;
    } catch {
      socket.write(JSON.stringify({ id: 0, error: { code: "ERR_BAD_REQUEST", message: "not JSON" } }) + "\n");
      return;
    }
    let response: ControlResponse;
    const handler = Object.hasOwn(table.handlers, request.method) ? table.handlers[request.method] : table.otherwise;
    if (!handler) {
      response = { id: request.id, error: { code: "ERR_UNKNOWN_REQUEST", message: `taskhost control: unknown request "${request.method}"` } };
    } else {
      try {
        response = { id: request.id, result: await handler(request.params ?? {}) };
      } catch (error) {
        const err = error as Error & { code?: string };
        response = { id: request.id, error: { code: err.code ?? "ERR_INTERNAL", message: err.message } };
      }
    }
    if (!socket.destroyed) socket.write(JSON.stringify(response) + "\n");
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) => {
      address.release();
      reject(error);
    });
    server.listen(address.path, () => {
      server.removeAllListeners("error");
      resolve();
    });
  });
  await chmod(socketPath, 0o600);
  server.on("error", onError);
  // Memoized: the host's faces and its start-up stack may both close it, and each waits for the end.
  let closing: Promise<void> | null = null;
  return {
    serve: (next, nextOtherwise) => {
      table = { handlers: next, otherwise: nextOtherwise };
    },
    close: () =>
      (closing ??= (async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        address.release();
        await unlink(socketPath).catch(() => {});
      })()),
  };
}

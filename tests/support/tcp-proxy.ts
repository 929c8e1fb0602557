/**
 * A TCP proxy in front of the test PostgreSQL, to cut one host off its
 * database and let it back (a real network outage: open connections are
 * reset, new ones refused) without stopping the server the others use.
 */
import net from "node:net";

export interface TcpProxy {
  readonly port: number;
  /** `url` (a postgres:// URL) going through the proxy. */
  via(url: string): string;
  /** Resets every connection and refuses new ones. */
  cut(): Promise<void>;
  /** A network that drops packets: nothing more is forwarded, nothing is closed, new connections hang. */
  stall(): void;
  /** Accepts connections again, on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, host = "127.0.0.1"): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | null = null;
  let port = 0;
  let stalled = false;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const next = net.createServer((client) => {
        if (stalled) {
          // Accepted and left unanswered, as behind a firewall that drops the packets.
          sockets.add(client);
          client.on("error", () => client.destroy());
          return;
        }
        const upstream = net.connect(targetPort, host);
        const end = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on("error", end).on("close", end);
        }
        client.pipe(upstream).pipe(client);
      });
      next.once("error", reject);
      next.listen(port, host, () => {
        port = (next.address() as net.AddressInfo).port;
        server = next;
        resolve();
      });
    });
  const cut = async () => {
    stalled = false;
    const open = server;
    server = null;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (open) await new Promise<void>((resolve) => open.close(() => resolve()));
  };
  await listen();
  return {
    get port() {
      return port;
    },
    via(url: string) {
      const u = new URL(url);
      u.port = String(port);
      return u.toString();
    },
    cut,
    stall() {
      stalled = true;
      for (const socket of sockets) {
        socket.unpipe();
        socket.pause();
      }
    },
    // From a stall: the stalled connections go (their client gave up on them), new ones are forwarded.
    restore: async () => {
      if (stalled) await cut();
      if (!server) await listen();
    },
    close: cut,
  };
}

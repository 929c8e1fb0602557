import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer } from "smtp-server";

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface HttpReceiver {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** The status the next requests get (default 200). */
  status: number;
  close(): Promise<void>;
}

/**
 * A real HTTP server on loopback that records every request (webhooks, Slack, pings), on `port` or a free one.
 * A request to `/moved/<rest>` is answered `307` to `/<rest>` (a URL that moved).
 */
export async function startHttpReceiver(options: { port?: number } = {}): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  const receiver = { status: 200 } as HttpReceiver & { status: number };
  const server: Server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (d: string) => (body += d));
    req.on("end", () => {
      if (req.url!.startsWith("/moved/")) return void res.writeHead(307, { location: req.url!.slice("/moved".length) }).end();
      requests.push({ method: req.method!, path: req.url!, headers: req.headers, body, at: Date.now() });
      res.writeHead(receiver.status, { "content-type": "text/plain" }).end(receiver.status < 300 ? "ok" : "nope");
    });
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}

export interface SmtpReceiver {
  readonly port: number;
  readonly mails: ParsedMail[];
  /** Envelope recipients of each mail, in order. */
  readonly recipients: string[][];
  close(): Promise<void>;
}

/** A real SMTP server (smtp-server) on loopback; with `auth`, it requires that user and password. */
export async function startSmtpReceiver(auth?: { user: string; password: string }): Promise<SmtpReceiver> {
  const mails: ParsedMail[] = [];
  const recipients: string[][] = [];
  const server = new SMTPServer({
    secure: false,
    disabledCommands: auth ? ["STARTTLS"] : ["STARTTLS", "AUTH"],
    authOptional: !auth,
    allowInsecureAuth: true,
    logger: false,
    onAuth(a, _session, callback) {
      if (auth && a.username === auth.user && a.password === auth.password) callback(null, { user: a.username });
      else callback(new Error("invalid username or password"));
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          mails.push(mail);
          recipients.push(session.envelope.rcptTo.map((r) => r.address));
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, recipients, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A loopback port nothing listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDashboardHost, TOKEN, type DashboardHost } from "./support/dashboard-host.ts";
import { status } from "./support/history.ts";

/** A raw HTTP/1.1 exchange: headers, then body chunks until the server answers or closes. */
async function rawPost(
  base: string,
  path: string,
  headers: Record<string, string>,
  body: { chunk: Buffer; times: number; chunked: boolean; waitForClose?: boolean },
): Promise<{ statusLine: string; json: Record<string, unknown> | null; bytesSent: number; closedByServer: boolean }> {
  const url = new URL(base);
  const socket = net.connect(Number(url.port), url.hostname);
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  let response = "";
  let closedByServer = false;
  const answered = new Promise<void>((resolve) => {
    socket.setEncoding("utf8").on("data", (d: string) => {
      response += d;
      if (/\r\n\r\n[\s\S]*\}/.test(response)) resolve();
    });
    socket.on("close", () => {
      closedByServer = true;
      resolve();
    });
    socket.on("end", () => (closedByServer = true));
    socket.on("error", () => resolve());
  });
  const head = Object.entries({ Host: url.host, "Content-Type": "application/json", ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n`);
  let bytesSent = 0;
  let done = false;
  void answered.then(() => (done = true));
  for (let i = 0; i < body.times && !done && !socket.destroyed; i++) {
    const piece = body.chunked ? Buffer.concat([Buffer.from(`${body.chunk.length.toString(16)}\r\n`), body.chunk, Buffer.from("\r\n")]) : body.chunk;
    if (!socket.write(piece)) await new Promise((resolve) => setTimeout(resolve, 5));
    bytesSent += body.chunk.length;
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.race([answered, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  // The server discards what follows for a moment, then closes.
  if (body.waitForClose && !socket.destroyed) await new Promise((resolve) => (socket.once("close", resolve), setTimeout(resolve, 5_000)));
  closedByServer = socket.destroyed && closedByServer;
  socket.destroy();
  const statusLine = response.split("\r\n")[0] ?? "";
  const text = response.slice(response.indexOf("\r\n\r\n") + 4);
  const json = /\{.*\}/s.exec(text)?.[0];
  return { statusLine, json: json ? (JSON.parse(json) as Record<string, unknown>) : null, bytesSent, closedByServer };
}

/** Issue 10.6: every dashboard route has a request body limit, answered 413 before the body is buffered. */
describe("dashboard request body limit", () => {
  let d: DashboardHost;
  beforeAll(async () => {
    d = await startDashboardHost({});
  });
  afterAll(async () => {
    await d?.project.cleanup();
  });

  it("refuses a login whose Content-Length is 300 MB at once, without reading the body", async () => {
    const result = await rawPost(d.base, "/api/login", { "Content-Length": String(300 * 1024 * 1024) }, { chunk: Buffer.alloc(64 * 1024, 0x61), times: 4, chunked: false, waitForClose: true });
    expect(result.statusLine).toBe("HTTP/1.1 413 Payload Too Large");
    expect(result.json).toMatchObject({ code: "ERR_PAYLOAD_TOO_LARGE" });
    expect(result.closedByServer).toBe(true);
  });

  it("refuses a chunked login body once it passes the limit, and the host's memory does not follow the body", async () => {
    const before = (await status(d.project)).host.rssMb;
    // 200 MB offered in 1 MB chunks: the answer must come long before.
    const result = await rawPost(d.base, "/api/login", { "Transfer-Encoding": "chunked" }, { chunk: Buffer.alloc(1024 * 1024, 0x61), times: 200, chunked: true });
    expect(result.statusLine).toBe("HTTP/1.1 413 Payload Too Large");
    expect(result.json).toMatchObject({ code: "ERR_PAYLOAD_TOO_LARGE" });
    expect(result.bytesSent).toBeLessThan(100 * 1024 * 1024);
    const after = (await status(d.project)).host.rssMb;
    expect(after! - before!).toBeLessThan(60);
  });

  it("gives a signed-in caller a larger limit, still refused past it on an API route", async () => {
    const small = await rawPost(d.base, "/api/tasks/none/run", { Authorization: `Bearer ${TOKEN}`, "Content-Length": String(64 * 1024) }, { chunk: Buffer.alloc(64 * 1024, 0x20), times: 1, chunked: false });
    expect(small.statusLine).not.toContain("413");
    const big = await rawPost(d.base, "/api/tasks/none/run", { Authorization: `Bearer ${TOKEN}`, "Content-Length": String(2 * 1024 * 1024) }, { chunk: Buffer.alloc(64 * 1024, 0x20), times: 1, chunked: false });
    expect(big.statusLine).toBe("HTTP/1.1 413 Payload Too Large");
    expect(big.json).toMatchObject({ code: "ERR_PAYLOAD_TOO_LARGE" });
  });

  it("still logs in with a small body", async () => {
    const response = await fetch(`${d.base}/api/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: TOKEN }) });
    expect(response.status).toBe(200);
  });
});

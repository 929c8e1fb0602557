/** Raw HTTP for the dashboard attacks: paths sent as written (fetch would normalise `..`), bodies of any size. */
import http from "node:http";

export interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** One request with `path` exactly as given; a body, when given, is sent whole. */
export function rawRequest(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path, headers, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (d: string) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
    });
    req.on("error", reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`${method} ${path}: no answer in 20 s`)));
    req.end(body);
  });
}

/**
 * A POST whose body is `mb` megabytes in 1 MB writes, declared with Content-Length
 * or sent chunked, stopped as soon as the server answers or hangs up. Resolves with
 * the status (0: none) and how many MB went out before that.
 */
export function floodBody(base: string, path: string, mb: number, options: { chunked: boolean; headers?: Record<string, string> }): Promise<{ status: number; sentMb: number }> {
  const url = new URL(base);
  const headers: Record<string, string> = { "Content-Type": "application/json", ...options.headers };
  if (!options.chunked) headers["Content-Length"] = String(mb * 1024 * 1024);
  return new Promise((resolve) => {
    let status = 0;
    let sent = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      req.destroy();
      resolve({ status, sentMb: sent });
    };
    const req = http.request({ host: url.hostname, port: url.port, method: "POST", path, headers, agent: false }, (res) => {
      status = res.statusCode ?? 0;
      res.resume();
      finish();
    });
    req.on("error", finish);
    req.on("close", finish);
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const pump = () => {
      while (!done && sent < mb) {
        sent++;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      if (!done) req.end();
    };
    pump();
    setTimeout(finish, 120_000);
  });
}

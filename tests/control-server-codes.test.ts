import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callHost } from "../runtime/cli/control-client.ts";
import { startControlServer, type ControlServer } from "../runtime/host/control-server.ts";
import { ERROR_CODES, isCode, taskhostError } from "../runtime/errors.ts";

/** What a CLI sees from a real control socket: every answer's code is a registered one. */
describe("control socket error codes", () => {
  let dir: string;
  let server: ControlServer;
  let socket: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "th-ctl-"));
    socket = path.join(dir, "run", "control.sock");
    server = await startControlServer(
      socket,
      {
        task: async () => {
          throw taskhostError("ERR_UNKNOWN_TASK", 'taskhost: no task "x"');
        },
        crash: async () => {
          throw new Error("a bug");
        },
        ok: async (params) => ({ echo: params.n }),
      },
      () => {},
    );
  });
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("an unknown request is ERR_UNKNOWN_REQUEST, not a task's unknown method", async () => {
    const error = await callHost(socket, "no-such-request").catch((e: unknown) => e);
    expect(isCode(error, "ERR_UNKNOWN_REQUEST")).toBe(true);
    expect((error as Error).message).toContain('unknown request "no-such-request"');
  });

  it("a handler's coded error keeps its code; an uncoded one is ERR_INTERNAL; both registered", async () => {
    const coded = await callHost(socket, "task").catch((e: unknown) => e);
    expect(isCode(coded, "ERR_UNKNOWN_TASK")).toBe(true);
    const crash = await callHost(socket, "crash").catch((e: unknown) => e);
    expect(isCode(crash, "ERR_INTERNAL")).toBe(true);
    for (const e of [coded, crash]) expect(Object.keys(ERROR_CODES)).toContain((e as { code: string }).code);
    expect(await callHost(socket, "ok", { n: 3 })).toEqual({ echo: 3 });
  });
});

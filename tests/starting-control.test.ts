/**
 * The control socket of a host waiting for its PostgreSQL ledger opens at the
 * first ERR_DB_UNREACHABLE, and never after the ledger opened: a database that
 * restarts under a running host warns the same way, and a socket opened then
 * replaced the host's own (status said "starting", every command was refused).
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { ERR_DB_UNREACHABLE } from "../runtime/errors.ts";
import { StartingControl } from "../runtime/host/starting-control.ts";
import { callHost } from "../runtime/cli/control-client.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "taskhost-starting-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const control = (socketPath: string) =>
  new StartingControl({ socketPath, pid: 4242, startedAt: Date.now(), restarts: 0, where: "postgres://taskhost:***@127.0.0.1:1/x", configError: null, configWarnings: [], onStop: () => {}, onError: () => {} });

it("answers status while the host waits for its database", async () => {
  const socket = path.join(dir, "control.sock");
  const starting = control(socket);
  starting.storeWarning("cannot be reached", ERR_DB_UNREACHABLE);
  const server = await starting.server();
  try {
    expect(server).not.toBeNull();
    const status = await callHost<{ host: { starting: boolean; database: { state: string; code: string } } }>(socket, "status", {}, 5000);
    expect(status.host).toMatchObject({ starting: true, database: { state: "unreachable", code: ERR_DB_UNREACHABLE } });
  } finally {
    await server?.close();
  }
});

it("opens no socket for a warning once the ledger opened (a database restarting under a running host)", async () => {
  const socket = path.join(dir, "control.sock");
  const starting = control(socket);
  starting.databaseConnected();
  starting.storeWarning("the connection was terminated", ERR_DB_UNREACHABLE);
  expect(await starting.server()).toBeNull();
  expect(existsSync(socket)).toBe(false);
});

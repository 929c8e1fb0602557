import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DependencyInstaller } from "../runtime/deps/install-dependencies.ts";
import { DependencyInstallError } from "../runtime/deps/dependency-install-error.ts";

// Issue 11.8: an unreachable registry must fail the install in seconds with npm's
// connection error, not leave the task installing for the whole install_timeout.

let tmp: string;
let closedPort: number;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "th-deps-unreachable-"));
  await writeFile(path.join(tmp, "npmrc"), "");
  // A port that was free a moment ago and has nobody listening: connections are refused.
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closedPort = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("an unreachable registry", () => {
  it("fails the install within seconds, with npm's connection error", async () => {
    const installer = new DependencyInstaller({
      registry: `http://127.0.0.1:${closedPort}/`,
      installTimeoutSec: 60,
      dataDir: path.join(tmp, "data"),
      env: { ...process.env, npm_config_cache: path.join(tmp, "npm-cache"), npm_config_userconfig: path.join(tmp, "npmrc") },
    });
    const started = Date.now();
    const error = await installer.ensure(["is-number@7.0.0"], { allowScripts: false }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DependencyInstallError);
    expect((error as Error).message).toContain("ECONNREFUSED");
    expect((error as Error).message).not.toContain("install_timeout");
    expect(Date.now() - started).toBeLessThan(30_000);
    await installer.close();
  });
});

import { readFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { startLocalRegistry, type LocalRegistry } from "./support/local-registry.ts";
import { startHttpReceiver } from "./support/receivers.ts";
import { finished, history, status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";

const greeter = (deps: string[], extra = "") => `/*
---
dependencies: ${JSON.stringify(deps)}
${extra}
---
*/
import { repeat, every, type TaskContext } from "taskhost";
// @ts-expect-error -- installed per task under data/deps by the host
import greetPkg from "th-fixture-greet";

export default class {
  @repeat(every(1).seconds)
  async start(ctx: TaskContext) { ctx.log.info(greetPkg.greet("test")); }
}
`;

/** A task's npm dependencies are installed for it alone, from the configured registry (a local one here). */
describe("task dependencies", () => {
  let registry: LocalRegistry;
  let project: TempProject;
  beforeAll(async () => {
    registry = await startLocalRegistry();
  });
  afterAll(async () => {
    await registry.close();
  });
  beforeEach(async () => {
    project = await TempProject.create({ dependencies: { registry: registry.url, install_timeout: 60 } });
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("installs each task's own versions, refuses bad specs, and an unknown package fails only its task", async () => {
    await project.writeTask("greet-one.ts", greeter(["th-fixture-greet@^1"]));
    await project.writeTask("greet-two.ts", greeter(["th-fixture-greet@2.0.0"]));
    await project.writeTask("bad-spec.ts", greeter(["git+https://example.com/x.git"]));
    await project.writeTask("bad-flag.ts", greeter(["--registry=http://evil"]));
    await project.writeTask("bad-path.ts", greeter(["../x"]));
    await project.writeTask("missing.ts", greeter(["th-fixture-nope@^1"]));
    const npmEnv = { npm_config_cache: path.join(project.root, "npm-cache"), npm_config_userconfig: path.join(project.root, "npmrc") };
    await project.start([], npmEnv);

    const one = await waitFor(async () => finished(await history(project, "greet-one"))[0], { timeoutMs: 60_000, what: "greet-one to run" });
    const two = await waitFor(async () => finished(await history(project, "greet-two"))[0], { timeoutMs: 60_000, what: "greet-two to run" });
    expect(one.output).toContain("th-fixture-greet 1.0.0");
    expect(two.output).toContain("th-fixture-greet 2.0.0");

    const report = await status(project);
    const byId = new Map(report.tasks.map((t) => [t.id, t]));
    for (const id of ["bad-spec", "bad-flag", "bad-path"]) {
      expect(byId.get(id)!.state).toBe("error");
      expect(byId.get(id)!.error).toMatch(/dependenc/i);
      expect(byId.get(id)!.error).toContain(`tasks/${id}.ts`);
    }
    const missing = await waitFor(async () => {
      const task = (await status(project)).tasks.find((t) => t.id === "missing");
      return task?.state === "error" ? task : null;
    }, { timeoutMs: 60_000, what: "the failed install" });
    expect(missing.error).toContain("404");
    // A package the registry does not have stays missing until the file changes: no retry.
    expect(missing.error).not.toContain("tries the install again");
    expect(byId.get("greet-one")!.state).toBe("scheduled");
  });

  it("tries a failed install again without a save once the registry answers (a host started offline)", async () => {
    // A loopback port nobody listens on yet: npm's connections are refused, as offline.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    // An alert channel: a failed install alerts `error` once, not once per attempt.
    const hooks = await startHttpReceiver();
    const offline = await TempProject.create({
      dependencies: { registry: `http://127.0.0.1:${port}/`, install_timeout: 60 },
      alerts: { channels: { ops: { type: "webhook", url: `${hooks.url}/hook` } }, rules: ["error"], repeat_after: 1 },
    });
    let late: LocalRegistry | null = null;
    try {
      await offline.writeTask("greet-late.ts", greeter(["th-fixture-greet@^1"]));
      const npmEnv = { npm_config_cache: path.join(offline.root, "npm-cache"), npm_config_userconfig: path.join(offline.root, "npmrc") };
      await offline.start([], npmEnv);
      const failed = await waitFor(async () => (await status(offline)).tasks.find((t) => t.id === "greet-late" && t.state === "error"), {
        timeoutMs: 60_000,
        what: "the install to fail while the registry is unreachable",
      });
      expect(failed.error).toContain("ECONNREFUSED");
      expect(failed.error).toMatch(/\ntaskhost tries the install again at \S+ \(in 1\d s\); changing the file tries it now$/);
      // The second attempt fails the same way: the task is still the same error task, alerted once.
      const log = path.join(offline.root, "logs", "scheduler.log");
      await waitFor(async () => ((await readFile(log, "utf8")).match(/"event":"task\.error"/g) ?? []).length >= 2, { timeoutMs: 40_000, what: "the retry to fail too" });
      expect((await status(offline)).tasks.find((t) => t.id === "greet-late")!.error).toMatch(/\(in [2-3]\d s\)/);
      expect(hooks.requests.map((r) => (JSON.parse(r.body) as { event: string }).event)).toEqual(["error"]);

      // The registry comes up; nobody touches the file.
      late = await startLocalRegistry({ port });
      const run = await waitFor(async () => finished(await history(offline, "greet-late"))[0], { timeoutMs: 60_000, what: "greet-late to run after the retry" });
      expect(run.output).toContain("th-fixture-greet 1.0.0");
      expect((await status(offline)).tasks.find((t) => t.id === "greet-late")!.error).toBeNull();
      expect(await readFile(log, "utf8")).toContain("trying to install its dependencies again");
    } finally {
      await hooks.close();
      await late?.close();
      await offline.cleanup();
    }
  });

  it("tries failed installs again when dependencies.* changes (a registry that never had the package, fixed live)", async () => {
    // A registry that answers 404 to everything: a failure no retry fixes until the settings change.
    const empty = http.createServer((_req, res) => res.writeHead(404, { "content-type": "application/json" }).end('{"error":"Not found"}'));
    await new Promise<void>((resolve) => empty.listen(0, "127.0.0.1", resolve));
    const emptyUrl = `http://127.0.0.1:${(empty.address() as net.AddressInfo).port}/`;
    try {
      await project.writeConfig({ dependencies: { registry: emptyUrl, install_timeout: 60 } });
      await project.writeTask("greet-fixed.ts", greeter(["th-fixture-greet@^1"]));
      await project.start([], { npm_config_cache: path.join(project.root, "npm-cache"), npm_config_userconfig: path.join(project.root, "npmrc") });
      const failed = await waitFor(async () => (await status(project)).tasks.find((t) => t.id === "greet-fixed" && t.state === "error"), {
        timeoutMs: 60_000,
        what: "the install to fail against the empty registry",
      });
      expect(failed.error).toContain("404");
      expect(failed.error).not.toContain("tries the install again");

      await project.writeConfig({ dependencies: { registry: registry.url, install_timeout: 60 } });
      const run = await waitFor(async () => finished(await history(project, "greet-fixed"))[0], { timeoutMs: 60_000, what: "greet-fixed to run under the fixed registry" });
      expect(run.output).toContain("th-fixture-greet 1.0.0");
    } finally {
      await new Promise<void>((resolve) => empty.close(() => resolve()));
    }
  });
});

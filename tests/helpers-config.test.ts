import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { getConfigValue, getProjectRoot, listConfigFiles, loadConfig, saveConfig, executeCommand } from "../helpers/index.ts";
import { smtpSettings } from "../helpers/email.ts";
import { useTempRoot } from "./fixtures/helpers/project-env.ts";
import { REPO } from "./support/temp-project.ts";

describe("config helpers", () => {
  let env: Awaited<ReturnType<typeof useTempRoot>>;
  let outside: string;
  beforeEach(async () => {
    env = await useTempRoot();
    outside = await mkdtemp(path.join(os.tmpdir(), "th-outside-"));
  });
  afterEach(async () => {
    await env.dispose();
    await rm(outside, { recursive: true, force: true });
  });
  const configFile = (name: string) => path.join(env.root, "config", name);
  const savedFile = (name: string) => path.join(env.root, "data", "config", name);

  it("resolves the project root from TASKHOST_PROJECT_ROOT", () => {
    expect(getProjectRoot()).toBe(env.root);
  });

  it("refuses names that leave config/: .., absolute paths, symlinks out", async () => {
    await writeFile(path.join(outside, "stolen.yaml"), "secret: 1\n");
    await writeFile(path.join(env.root, "top.yaml"), "secret: 2\n");
    await symlink(path.join(outside, "stolen.yaml"), configFile("link.yaml"));
    await symlink(outside, configFile("linkdir"));
    await mkdir(configFile("sub"));
    for (const name of ["../top.yaml", "sub/../../top.yaml", "..", path.join(outside, "stolen.yaml"), "/etc/passwd", "link.yaml", "linkdir/stolen.yaml", "linkdir/new.yaml"]) {
      expect(() => loadConfig(name), name).toThrow(/refused/);
    }
    expect(() => saveConfig({ a: 1 }, "../evil.yaml")).toThrow(/`\.\.` is not allowed/);
    expect(() => saveConfig({ a: 1 }, "linkdir/evil.yaml")).toThrow(/outside config/);
    expect(await readdir(outside)).toEqual(["stolen.yaml"]);
    // A symlink that stays inside is fine.
    await writeFile(configFile("real.yaml"), "x: 1\n");
    await symlink("real.yaml", configFile("alias.yaml"));
    expect(loadConfig("alias.yaml")).toEqual({ x: 1 });
  });

  it("looks values up by dot path, with defaults only for what is missing", async () => {
    await writeFile(
      configFile("my_task.yaml"),
      "api:\n  url: https://x\n  retries: 0\n  enabled: false\n  hosts:\n    - name: a\n    - name: b\nempty: null\n",
    );
    expect(getConfigValue("api.url", "my_task.yaml")).toBe("https://x");
    expect(getConfigValue("api.url", "my_task")).toBe("https://x"); // .yaml added
    expect(getConfigValue("api.retries", "my_task.yaml", 5)).toBe(0);
    expect(getConfigValue("api.enabled", "my_task.yaml", true)).toBe(false);
    expect(getConfigValue("api.hosts.1.name", "my_task.yaml")).toBe("b");
    expect(getConfigValue("api.timeout", "my_task.yaml", 30)).toBe(30);
    expect(getConfigValue("api.url.deeper", "my_task.yaml", "d")).toBe("d");
    expect(getConfigValue("empty", "my_task.yaml", "d")).toBeNull();
    expect(getConfigValue("anything", "missing.yaml", "fallback")).toBe("fallback");
    expect(getConfigValue("toString", "my_task.yaml", "own keys only")).toBe("own keys only");
    expect(loadConfig("missing.yaml")).toEqual({});
    // Default name: the host's config.yaml.
    await writeFile(configFile("config.yaml"), "scheduler:\n  timezone: UTC\n");
    expect(getConfigValue("scheduler.timezone")).toBe("UTC");
  });

  it("reads the host's own configuration where the host was started with --config, and the secrets beside it", async () => {
    await writeFile(configFile("config.yaml"), "scheduler:\n  timezone: UTC\nalerts:\n  smtp: { host: wrong.example.com }\n");
    await writeFile(path.join(outside, "host.yaml"), "scheduler:\n  timezone: Europe/Paris\nalerts:\n  smtp: { host: mail.example.com, port: 2526, user: bot }\n");
    await writeFile(path.join(outside, "secrets.yaml"), "alerts:\n  smtp: { password: beside }\n", { mode: 0o600 });
    process.env.TASKHOST_CONFIG_FILE = path.join(outside, "host.yaml");
    try {
      expect(getConfigValue("scheduler.timezone")).toBe("Europe/Paris");
      expect(loadConfig("config.yaml")).toMatchObject({ scheduler: { timezone: "Europe/Paris" } });
      expect(smtpSettings()).toMatchObject({ host: "mail.example.com", port: 2526, user: "bot", password: "beside" });
      await writeFile(path.join(outside, "host.yaml"), "alerts:\n  smtp: { port: many }\n");
      expect(() => smtpSettings()).toThrow(`alerts.smtp.port must be a port number in ${path.join(outside, "host.yaml")}`);
    } finally {
      delete process.env.TASKHOST_CONFIG_FILE;
    }
    expect(getConfigValue("scheduler.timezone")).toBe("UTC");
  });

  it("names the file and line of invalid YAML", async () => {
    await writeFile(configFile("bad.yaml"), "a: 1\nb: [unclosed\n");
    expect(() => loadConfig("bad.yaml")).toThrow(/^config\/bad\.yaml:\d+:\d+: invalid YAML/);
  });

  it("saves atomically, keeping comments and order of the keys that stay", async () => {
    await writeFile(
      configFile("my_task.yaml"),
      "# my task's settings\nname: old   # shown in reports\nlimits:\n  # per run\n  max: 10\n  min: 1\ndropped: true\n",
    );
    const original = await readFile(configFile("my_task.yaml"), "utf8");
    saveConfig({ name: "new", limits: { max: 20, min: 1 }, added: [1, 2] }, "my_task.yaml");
    // Issue 11.4: saved to data/config/ (writable under the systemd unit, not in git); config/ is untouched.
    const text = await readFile(savedFile("my_task.yaml"), "utf8");
    expect(text).toBe("# my task's settings\nname: new # shown in reports\nlimits:\n  # per run\n  max: 20\n  min: 1\nadded:\n  - 1\n  - 2\n");
    expect(await readFile(configFile("my_task.yaml"), "utf8")).toBe(original);
    expect(loadConfig("my_task.yaml")).toEqual({ name: "new", limits: { max: 20, min: 1 }, added: [1, 2] });
    saveConfig({ name: "newer" }, "my_task.yaml");
    expect(getConfigValue("name", "my_task.yaml")).toBe("newer");
    expect(() => saveConfig({ a: 1 }, "config.yaml")).toThrow(/host's own configuration/);
    // No temporary file left behind; a new file is created (in a new sub-folder too).
    saveConfig({ fresh: { deep: "yes" } }, "sub/fresh.yaml");
    expect(getConfigValue("fresh.deep", "sub/fresh.yaml")).toBe("yes");
    expect((await readdir(path.join(env.root, "config"))).sort()).toEqual(["my_task.yaml"]);
    expect((await readdir(path.join(env.root, "data", "config"))).sort()).toEqual(["my_task.yaml", "sub"]);
    expect(listConfigFiles()).toEqual(["my_task.yaml", "sub/fresh.yaml"]);
  });

  it("creates secrets owner-only and warns when a secrets file is readable by others", async () => {
    saveConfig({ api_keys: { x: "k" } }, "secrets.yaml");
    const { statSync } = await import("node:fs");
    expect(statSync(savedFile("secrets.yaml")).mode & 0o777).toBe(0o600);
    await chmod(savedFile("secrets.yaml"), 0o644);
    // The warning goes to the console outside a run: check it in a real process.
    const result = await executeCommand(process.execPath, {
      args: ["--import", "tsx", "-e", 'import("./helpers/index.ts").then((h) => console.log(h.getConfigValue("api_keys.x", "secrets.yaml")))'],
      cwd: REPO,
      env: { TASKHOST_PROJECT_ROOT: env.root },
      timeout: 30,
    });
    expect(result.stdout.trim()).toBe("k");
    expect(result.stderr).toMatch(/WARN \[script\] data\/config\/secrets\.yaml is readable by other users \(mode 0644\); run `chmod 600 data\/config\/secrets\.yaml`/);
  });

  it("ships a secrets example that parses", async () => {
    const example = await readFile(path.join(REPO, "config", "secrets.yaml.example"), "utf8");
    await writeFile(configFile("secrets.yaml"), example, { mode: 0o600 });
    expect(getConfigValue("api_keys.example_service", "secrets.yaml")).toBe("");
  });
});

/**
 * Issue 10.10, found by the adversarial bench: data/config.last-good.yaml is a
 * copy of config/config.yaml, which may hold dashboard.token or alert secrets.
 * It is the owner's alone, whatever the umask and whatever data/'s mode (a git
 * clone brings data/ as 0755).
 */
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { LAST_GOOD_CONFIG_FILE, loadConfigOrLastGood, saveLastGoodConfig } from "../runtime/config/last-good-config.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "taskhost-last-good-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SOURCE = "dashboard:\n  token: a-token-of-at-least-16-chars\n";
const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

it("writes the last good copy 0600 under a 022 umask", async () => {
  const old = process.umask(0o022);
  try {
    await saveLastGoodConfig(dir, SOURCE, "config/config.yaml");
  } finally {
    process.umask(old);
  }
  expect(await readFile(join(dir, LAST_GOOD_CONFIG_FILE), "utf8")).toBe(`# taskhost: the last good configuration of config/config.yaml\n${SOURCE}`);
  expect((await modeOf(join(dir, LAST_GOOD_CONFIG_FILE))).toString(8)).toBe("600");
});

it("makes an older, world-readable copy private even when its content is unchanged", async () => {
  await writeFile(join(dir, LAST_GOOD_CONFIG_FILE), `# taskhost: the last good configuration of config/config.yaml\n${SOURCE}`);
  await chmod(join(dir, LAST_GOOD_CONFIG_FILE), 0o644);
  await saveLastGoodConfig(dir, SOURCE, "config/config.yaml");
  expect((await modeOf(join(dir, LAST_GOOD_CONFIG_FILE))).toString(8)).toBe("600");
});

it("falls back only on the copy of the same config file: another file's copy is no last good configuration for this one", async () => {
  const configDir = join(dir, "config");
  await mkdir(configDir, { recursive: true });
  await writeFile(join(configDir, "alt.yaml"), "scheduler:\n  max_concurrent_runs: 3\n");
  await writeFile(join(configDir, "bad.yaml"), "scheduler:\n  max_concurrent_runs: -3\n");
  // A host ran on config/alt.yaml and kept its copy in data/.
  await saveLastGoodConfig(join(dir, "data"), "scheduler:\n  max_concurrent_runs: 3\n", "config/alt.yaml");
  expect(() => loadConfigOrLastGood("config/bad.yaml", dir)).toThrow(/config\/bad\.yaml:2.*max_concurrent_runs/);
  // The same file, broken after its copy was kept: it runs on the copy, and says so.
  await writeFile(join(configDir, "alt.yaml"), "scheduler:\n  max_concurrent_runs: -3\n");
  const loaded = loadConfigOrLastGood("config/alt.yaml", dir);
  expect(loaded.config.scheduler.maxConcurrentRuns).toBe(3);
  expect(loaded.problem?.file).toBe("config/alt.yaml");
});

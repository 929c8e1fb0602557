import { execFileSync } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SETTLE_MS, watchPaths, type Watching } from "../runtime/watch/watch-paths.ts";
import { watchConfig } from "../runtime/host/watch-config.ts";
import { resolveConfig } from "../runtime/config/resolve-config.ts";
import type { ResolvedConfig } from "../runtime/config/config-options.ts";
import type { HostLog } from "../runtime/scheduler/scheduler-types.ts";
import { waitFor } from "./support/wait-for.ts";

// Issue 11.18 (one burst of writes is one event) and 11.12 (one save, one config event),
// on real files and the real watcher.

/** Waits out the window in which a second event of the same save would come (or returns when it did). */
async function aDuplicateHasItsChance(duplicated: () => boolean): Promise<void> {
  await waitFor(duplicated, { timeoutMs: 400, what: "a duplicate" }).catch(() => {});
}

describe("watch events", () => {
  let dir: string;
  let watching: Watching | null = null;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "th-watch-"));
  });
  afterEach(async () => {
    await watching?.close();
    watching = null;
    await rm(dir, { recursive: true, force: true });
  });

  it("six writes 8 ms apart are one event, after the last write", async () => {
    const file = path.join(dir, "a.ts");
    const marker = path.join(dir, "marker.ts");
    await writeFile(file, "0");
    const seen: string[] = [];
    watching = await watchPaths({ paths: [dir], onEvent: (_e, f) => seen.push(path.basename(f)), onError: () => {} });
    const writtenAt: number[] = [];
    for (let i = 1; i <= 6; i++) {
      await writeFile(file, String(i));
      writtenAt.push(performance.now());
      await new Promise((resolve) => setTimeout(resolve, 8));
    }
    await waitFor(() => seen.includes("a.ts"), { what: "the burst's event" });
    // A later write to another file: once its event is in, the burst's are all in too.
    await writeFile(marker, "m");
    await waitFor(() => seen.includes("marker.ts"), { what: "the marker's event" });
    await writeFile(marker, "n");
    await waitFor(() => seen.filter((f) => f === "marker.ts").length >= 2, { what: "the marker's second event" });
    // A loaded machine can hold a write back past the settle window: then the writes were not
    // one burst, and each such gap may rightly start a new event. Otherwise: one event.
    const gaps = writtenAt.slice(1).filter((at, i) => at - writtenAt[i]! >= SETTLE_MS).length;
    expect(seen.filter((f) => f === "a.ts").length).toBeGreaterThanOrEqual(1);
    expect(seen.filter((f) => f === "a.ts").length).toBeLessThanOrEqual(1 + gaps);
  });

  it("a shell's save of a bad config is one config.rejected, of an unknown key one config.warning", async () => {
    const configDir = path.join(dir, "config");
    await mkdir(configDir);
    const config = path.join(configDir, "config.yaml");
    await writeFile(config, "{}\n");
    let current: ResolvedConfig = resolveConfig({}, { projectRoot: dir, configPath: config }).config;
    const events: string[] = [];
    const log: HostLog = {
      debug: () => {},
      info: (obj) => events.push(String((obj as { event?: string }).event)),
      warn: (obj) => events.push(String((obj as { event?: string }).event)),
      error: (obj) => events.push(String((obj as { event?: string }).event)),
    };
    watching = await watchConfig({
      configPath: config,
      projectRoot: dir,
      current: () => current,
      apply: async (next) => {
        current = next;
      },
      log: () => log,
      rejected: () => {},
      accepted: async () => {},
    });
    // bash truncates, then writes: more than one file event for one save.
    const shellSave = (text: string) => execFileSync("bash", ["-c", 'printf "$2" > "$1"', "bash", config, text]);
    shellSave("scheduler:\\n  max_concurrent_runs: lots\\n");
    await waitFor(() => events.includes("config.rejected"), { what: "config.rejected" });
    await aDuplicateHasItsChance(() => events.filter((e) => e === "config.rejected").length > 1);
    shellSave("scheduler:\\n  max_concurrent_runs: 4\\n  timout: 3\\n");
    await waitFor(() => events.includes("config.reloaded"), { what: "config.reloaded" });
    await aDuplicateHasItsChance(() => events.filter((e) => e === "config.warning").length > 1);
    shellSave("scheduler:\\n  max_concurrent_runs: 5\\n");
    await waitFor(() => events.filter((e) => e === "config.reloaded").length >= 2, { what: "the second config.reloaded" });
    expect(events.filter((e) => e === "config.rejected")).toHaveLength(1);
    expect(events.filter((e) => e === "config.warning")).toHaveLength(1);
  });
});

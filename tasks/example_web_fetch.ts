/*
---
title: "Web Fetch"
description: "Fetches a JSON document every 30 minutes and keeps the latest copy in data/example_web_fetch/."
dependencies: ["dayjs@^1.11"]
timeout: 60
retry_count: 2
retry_delay: 60
---
*/
// A task with its own npm dependency: `dependencies` in the frontmatter is
// installed for this task only (into a cache under data/), and then imported
// like any package. Fetching uses Node's built-in fetch.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
// A task's dependencies are installed for it alone (under data/), so the
// project's own `tsc` does not see their types; hence the ts-ignore.
// eslint-disable-next-line @typescript-eslint/ban-ts-comment -- @ts-expect-error would fail where the types are installed
// @ts-ignore -- resolved at bundle time from the task's dependency cache
import dayjs from "dayjs";
import { repeat, every, type TaskContext } from "taskhost";
import { errorMessage, getConfigValue, getProjectRoot, logStructuredData } from "taskhost/helpers";

const DEFAULT_URL = "https://api.github.com/repos/nodejs/node";

export default class WebFetch {
  @repeat(every(30).minutes)
  async fetchLatest(ctx: TaskContext) {
    // The URL can be changed in config/example_web_fetch.yaml (`url: https://...`).
    const url = getConfigValue("url", "example_web_fetch.yaml", DEFAULT_URL);
    // Give up after 15 s, or as soon as the run is aborted (timeout, shutdown).
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(15_000)]);
    let response: Response;
    try {
      response = await fetch(url, { signal, headers: { "user-agent": "taskhost-example" } });
    } catch (error) {
      // No network, DNS failure, refused connection, timeout: say so plainly (the run fails and is retried).
      const cause = error instanceof Error && error.cause ? errorMessage(error.cause) : errorMessage(error);
      throw new Error(`cannot reach ${url}: ${cause} (is this machine online?)`);
    }
    if (!response.ok) throw new Error(`${url} answered ${response.status} ${response.statusText}`);
    const body = (await response.json()) as Record<string, unknown>;

    const dir = path.join(getProjectRoot(), "data", "example_web_fetch");
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "latest.json"), JSON.stringify(body, null, 2));
    logStructuredData("fetched", {
      url,
      at: dayjs().format("YYYY-MM-DD HH:mm:ss"),
      keys: Object.keys(body).length,
      stars: body["stargazers_count"] ?? null,
    });
  }
}

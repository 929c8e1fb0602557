import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { HostMetrics } from "../runtime/metrics/host-metrics.ts";
import { REPO } from "./support/temp-project.ts";

const metrics = new HostMetrics({ schedules: () => [], tasksInError: () => 0, runningRuns: () => 0 }, { restarts: 0, startedAt: Date.now() });
const registered = new Set(metrics.registry.getMetricsAsArray().map((m) => m.name));
/** The series names of a histogram are its name plus _bucket, _sum, _count. */
const family = (series: string) => series.replace(/_(bucket|sum|count)$/, "");

describe("the metrics and the documents that use them", () => {
  it("has every name contract §11 lists", () => {
    for (const name of [
      "taskhost_runs_total",
      "taskhost_run_duration_seconds",
      "taskhost_start_lag_seconds",
      "taskhost_schedule_next_run_timestamp_seconds",
      "taskhost_task_last_success_timestamp_seconds",
      "taskhost_tasks_in_error",
      "taskhost_host_resident_memory_bytes",
      "taskhost_host_restarts_total",
    ]) expect(registered, name).toContain(name);
  });

  it.each(["docs/grafana-dashboard.json", "docs/alerts-prometheus-rules.yml"])("%s uses only metrics the host exports", (file) => {
    const text = readFileSync(path.join(REPO, file), "utf8");
    if (file.endsWith(".json")) expect(() => JSON.parse(text)).not.toThrow();
    else expect((parse(text) as { groups: Array<{ rules: unknown[] }> }).groups[0]!.rules.length).toBeGreaterThan(5);
    const used = new Set([...text.matchAll(/\btaskhost_[a-z_]+/g)].map((m) => family(m[0])));
    expect(used.size).toBeGreaterThan(5);
    for (const name of used) expect(registered, `${file} uses ${name}`).toContain(name);
  });
});

/*
---
title: "System Monitor"
description: "Every 5 minutes: disk, memory and load; a notification when one is above its threshold."
timeout: 30
---
*/
// Thresholds from config/example_system_monitor.yaml (all optional):
//
//   disk_percent: 90        # used space of `mount`
//   memory_percent: 90
//   load_per_cpu: 2.0       # 1-minute load average divided by the CPU count
//   mount: /
//
// An alert is sent once when a value crosses its threshold, not every 5 minutes
// while it stays above (ctx.state remembers what was alerted).
import { statfs } from "node:fs/promises";
import os from "node:os";
import { repeat, every, type TaskContext } from "taskhost";
import { getConfigValue, logStructuredData, sendAndLogNotification } from "taskhost/helpers";

interface Reading {
  name: string;
  value: number;
  threshold: number;
  unit: string;
}

export default class SystemMonitor {
  @repeat(every(5).minutes)
  async check(ctx: TaskContext) {
    const cfg = (key: string, fallback: number) => getConfigValue(key, "example_system_monitor.yaml", fallback);
    const mount = getConfigValue("mount", "example_system_monitor.yaml", "/");

    const fsStats = await statfs(mount);
    const diskPercent = 100 * (1 - fsStats.bavail / fsStats.blocks);
    const memoryPercent = 100 * (1 - os.freemem() / os.totalmem());
    const loadPerCpu = os.loadavg()[0]! / os.availableParallelism();

    const readings: Reading[] = [
      { name: `disk ${mount}`, value: diskPercent, threshold: cfg("disk_percent", 90), unit: "%" },
      { name: "memory", value: memoryPercent, threshold: cfg("memory_percent", 90), unit: "%" },
      { name: "load per CPU", value: loadPerCpu, threshold: cfg("load_per_cpu", 2), unit: "" },
    ];
    logStructuredData(
      "system",
      Object.fromEntries(readings.map((r) => [r.name, +r.value.toFixed(2)])),
    );

    const alerted = ctx.state.get<string[]>("alerted") ?? [];
    const nowAbove = readings.filter((r) => r.value > r.threshold);
    for (const r of nowAbove) {
      if (alerted.includes(r.name)) continue;
      // Logged in any case; shown on the desktop where there is one (never throws).
      await sendAndLogNotification({
        title: `System monitor: ${r.name} high`,
        message: `${r.name} is ${r.value.toFixed(1)}${r.unit} (threshold ${r.threshold}${r.unit}) on ${os.hostname()}`,
        urgency: "critical",
      });
    }
    for (const name of alerted) {
      if (!nowAbove.some((r) => r.name === name)) ctx.log.info(`${name} is back below its threshold`);
    }
    ctx.state.set("alerted", nowAbove.map((r) => r.name));
  }
}

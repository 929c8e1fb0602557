/*
---
title: "Config Usage"
description: "Reads its own settings and a secret from config/, and records its last run with saveConfig (in data/config/)."
timeout: 30
---
*/
// Task configs are YAML files in config/ next to the host's config.yaml.
// Secrets go in config/secrets.yaml (git-ignored; start from
// config/secrets.yaml.example and `chmod 600` it: a file others can read gets a warning).
import { repeat, every, type TaskContext } from "taskhost";
import { getConfigValue, listConfigFiles, loadConfig, logStructuredData, saveConfig } from "taskhost/helpers";

const CONFIG = "example_config_usage.yaml";

interface Settings {
  greeting?: string;
  limits?: { max_items?: number };
  runs?: number;
  last_run?: string;
}

export default class ConfigUsage {
  @repeat(every().hour.at(":15"))
  async show(ctx: TaskContext) {
    ctx.log.info(`config files: ${listConfigFiles().join(", ")}`);

    // The host's own config is readable too (read-only use is the sensible one).
    const zone = getConfigValue("scheduler.timezone", "config.yaml", "local");

    // This task's settings: a missing file is {} and every lookup has a default.
    const settings = loadConfig<Settings>(CONFIG);
    const greeting = settings.greeting ?? "hello";
    const maxItems = getConfigValue("limits.max_items", CONFIG, 10);

    // A secret: never log its value, only whether it is there.
    const apiKey = getConfigValue<string | null>("api_keys.example_service", "secrets.yaml", null);
    logStructuredData("settings", { zone, greeting, maxItems, apiKey: apiKey ? "set" : "not set" });
    if (!apiKey) ctx.log.info("no api_keys.example_service in config/secrets.yaml (see config/secrets.yaml.example)");

    // Write back: to data/config/ (config/ stays as you wrote it: read-only under the
    // systemd unit, and git stays clean); atomic, and comments are kept.
    const runs = (settings.runs ?? 0) + 1;
    saveConfig({ greeting, limits: { max_items: maxItems }, ...settings, runs, last_run: new Date().toISOString() }, CONFIG);
    ctx.log.info(`recorded run ${runs} in data/config/${CONFIG}`);
  }
}

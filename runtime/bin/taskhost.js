#!/usr/bin/env node
// The `taskhost` command. The runtime is TypeScript, run through tsx's loader;
// task bundles and run workers are plain JS and never pay for it.
import { register } from "tsx/esm/api";

register();
await import("../cli/main.ts");

#!/usr/bin/env node
// The `taskhost` command. The runtime is TypeScript: run from its compiled copy
// (compiled-runtime.js), or through tsx's loader where that copy cannot be
// written (or with TASKHOST_TSX=1). Task bundles and run workers are plain JS
// and never pay for either.
import { pathToFileURL } from "node:url";
import { compiledCli } from "./compiled-runtime.js";

const compiled = process.env.TASKHOST_TSX === "1" ? null : await compiledCli();
if (compiled) {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../cli/main.ts");
}

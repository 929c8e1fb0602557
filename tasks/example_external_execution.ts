/*
---
title: "External Execution"
description: "Runs external commands and scripts every hour, with timeouts, retries and a summary."
timeout: 120
---
*/
// executeCommand passes arguments without a shell (nothing to quote, nothing
// injected) unless `shell: true`; every command runs in its own process group
// and is stopped with everything it started on timeout or when this run is aborted.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { repeat, every, type TaskContext } from "taskhost";
import {
  executeCommand,
  executeScript,
  getProjectRoot,
  logExecutionResult,
  processExecutionResults,
  type ExecutionResult,
} from "taskhost/helpers";

export default class ExternalExecution {
  @repeat(every().hour)
  async run(ctx: TaskContext) {
    const results: ExecutionResult[] = [];

    // 1. A plain command with arguments.
    results.push(await executeCommand("uname", { args: ["-srm"], timeout: 10 }));

    // 2. A pipeline needs a shell: ask for one explicitly.
    results.push(await executeCommand("ls -1 tasks | wc -l", { shell: true, timeout: 10 }));

    // 3. A script file, run by the interpreter its extension calls for (.sh → bash,
    //    .py → python3, .ts/.js → Node). This one is written here so the example is self-contained.
    const script = path.join(getProjectRoot(), "data", "example_external_execution", "hello.sh");
    await mkdir(path.dirname(script), { recursive: true });
    await writeFile(script, 'echo "hello from $0 with args: $*"\n');
    results.push(await executeScript(script, { args: ["one", "two"], timeout: 10 }));

    // 4. A command that must not block the run for long: a timeout stops it (and its children).
    results.push(await executeCommand("sleep", { args: ["5"], timeout: 0.5 }));

    // 5. Exit codes other than 0 can count as success: `grep` exits 1 when nothing matches.
    results.push(await executeCommand("grep", { args: ["-q", "no-such-text", script], expectedExitCodes: [0, 1] }));

    for (const result of results) {
      logExecutionResult(result);
      if (result.stdout.trim()) ctx.log.info(`  stdout: ${result.stdout.trim()}`);
    }
    const summary = processExecutionResults(results);
    ctx.log.info(summary.text);
    // The timeout in step 4 is on purpose; anything else failing fails the run.
    const unexpected = summary.failures.filter((f) => !f.command.startsWith("sleep"));
    if (unexpected.length > 0) {
      throw new Error(`commands failed: ${unexpected.map((f) => `${f.command} (${f.error})`).join("; ")}`);
    }
  }
}

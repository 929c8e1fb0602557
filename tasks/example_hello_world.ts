/*
---
title: "Hello World"
description: "The smallest task: logs a greeting every 10 minutes and counts its runs."
timeout: 30
---
*/
// Loaded only with `tasks.include_example_tasks: true` in config/config.yaml.
// Try it now: `npx taskhost run example_hello_world`.
import { repeat, every, type TaskContext } from "taskhost";
import { log } from "taskhost/helpers";

export default class HelloWorld {
  // Clock-aligned: :00, :10, :20 ... of every hour.
  @repeat(every(10).minutes)
  async start(ctx: TaskContext) {
    // ctx.state survives between runs (it is kept in the ledger).
    const runs = (ctx.state.get<number>("runs") ?? 0) + 1;
    ctx.state.set("runs", runs);
    // ctx.log and the `log` helper write the same lines: `[Hello World] ...` in logs/tasks.log.
    ctx.log.info(`Hello, world! (run ${runs}, ${ctx.trigger}, scheduled for ${ctx.scheduledFor.toISOString()})`);
    log.debug("debug lines show with logging.level: debug");
  }
}

/*
---
title: "Hello"
description: "A first task: logs a line at the start of every minute."
timeout: 30
---
*/
import { repeat, every, type TaskContext } from "taskhost";

export default class Hello {
  @repeat(every(1).minute)
  async start(ctx: TaskContext) {
    const runs = (ctx.state.get<number>("runs") ?? 0) + 1;
    ctx.state.set("runs", runs);
    ctx.log.info(`hello from run ${runs}, scheduled for ${ctx.scheduledFor.toISOString()}`);
  }
}

/*
---
title: "System Notification"
description: "Shows a desktop notification every morning at 09:00 (logged where there is no desktop)."
timeout: 30
---
*/
// sendNotification never throws: it resolves { delivered, reason }. On a server
// or in a container (no notification daemon) the notification is not shown,
// the reason is logged, and the run still succeeds — the message is in tasks.log.
import { repeat, every, type TaskContext } from "taskhost";
import { sendAndLogNotification } from "taskhost/helpers";

export default class SystemNotification {
  @repeat(every().day.at("09:00"))
  async remind(ctx: TaskContext) {
    const result = await sendAndLogNotification({
      title: "Good morning",
      message: `taskhost is running (this is ${ctx.task.title}, run ${ctx.trigger})`,
      urgency: "low",
      timeout: 10,
    });
    ctx.log.info(result.delivered ? "notification delivered" : `notification not delivered: ${result.reason}`);
  }
}

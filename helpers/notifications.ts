import { requireHostModule } from "./host-modules.ts";
import { deliverNotification, type NotificationOptions, type NotificationResult, type Notifier } from "../runtime/util/desktop-notify.ts";
import { log } from "./logging.ts";

export type { NotificationOptions, NotificationResult } from "../runtime/util/desktop-notify.ts";

/**
 * Shows a desktop notification through node-notifier (notify-send on Linux,
 * Notification Center on macOS, toasts on Windows). Never throws: on a machine
 * without a notification daemon (a server, a container) it resolves
 * `{ delivered: false, reason }` and logs the reason at warn level.
 *
 * @example
 * const result = await sendNotification({ title: "Backup", message: "done", urgency: "low" });
 * if (!result.delivered) log.info(`no desktop here: ${result.reason}`);
 */
export async function sendNotification(options: NotificationOptions): Promise<NotificationResult> {
  const result = await deliverNotification(options, () => requireHostModule<Notifier>("node-notifier"));
  if (!result.delivered) log.warn(`notification "${options.title}" not shown: ${result.reason}`);
  return result;
}

/**
 * Logs the notification's text (warn for `critical`, info otherwise), then
 * sends it with {@link sendNotification}: the message is in tasks.log even
 * where no desktop can show it.
 *
 * @example
 * await sendAndLogNotification({ title: "Disk", message: "/ is 93% full", urgency: "critical" });
 */
export async function sendAndLogNotification(options: NotificationOptions): Promise<NotificationResult> {
  (options.urgency === "critical" ? log.warn : log.info)(`notification: ${options.title}: ${options.message}`);
  const result = await sendNotification(options);
  if (result.delivered) log.info(`notification "${options.title}" shown`);
  return result;
}

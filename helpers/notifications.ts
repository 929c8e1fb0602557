import { requireHostModule } from "./host-modules.ts";
import { errorMessage } from "./errors.ts";
import { log } from "./logging.ts";

/** What {@link sendNotification} shows. */
export interface NotificationOptions {
  title: string;
  message: string;
  /** How insistent the notification is (Linux notify-send urgency); default `"normal"`. */
  urgency?: "low" | "normal" | "critical";
  /** Seconds the notification stays up, where the desktop honours it; default 10. */
  timeout?: number;
}

/** Whether the desktop showed the notification, and why not when it did not. */
export interface NotificationResult {
  delivered: boolean;
  reason?: string;
}

interface Notifier {
  notify(options: Record<string, unknown>, callback: (error: Error | null, response?: unknown) => void): unknown;
}

/** Our own cap on waiting for the notifier: a stuck notification daemon must not hold a run. */
const NOTIFY_WAIT_MS = 15_000;

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
  const result = await deliverNotification(options);
  if (!result.delivered) log.warn(`notification "${options.title}" not shown: ${result.reason}`);
  return result;
}

/** sendNotification without the log line (for the host, which logs in its own format). */
export async function deliverNotification(options: NotificationOptions): Promise<NotificationResult> {
  let notifier: Notifier;
  try {
    notifier = requireHostModule<Notifier>("node-notifier");
  } catch (error) {
    return { delivered: false, reason: errorMessage(error) };
  }
  return new Promise<NotificationResult>((resolve) => {
    const timer = setTimeout(
      () => resolve({ delivered: false, reason: `the notifier did not answer within ${NOTIFY_WAIT_MS / 1000}s` }),
      NOTIFY_WAIT_MS,
    );
    const done = (result: NotificationResult) => {
      clearTimeout(timer);
      resolve(result);
    };
    try {
      notifier.notify(
        {
          title: options.title,
          message: options.message,
          urgency: options.urgency ?? "normal",
          timeout: options.timeout ?? 10,
          wait: false,
        },
        (error) => done(error ? { delivered: false, reason: noDaemonHint(errorMessage(error)) } : { delivered: true }),
      );
    } catch (error) {
      done({ delivered: false, reason: noDaemonHint(errorMessage(error)) });
    }
  });
}

function noDaemonHint(reason: string): string {
  if (/not found|must be installed|ENOENT/i.test(reason)) {
    return `${reason} (no desktop notification tool on this machine; on Linux install libnotify-bin and run inside a desktop session)`;
  }
  return reason;
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

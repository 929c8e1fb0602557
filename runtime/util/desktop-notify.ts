/**
 * A desktop notification through node-notifier, shared by the desktop alert
 * channel (the host) and sendNotification (helpers/, in task workers); the
 * notifier module comes in as an argument for the same reason as in smtp-transport.ts.
 */
import { messageOf } from "../errors.ts";

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

export interface Notifier {
  notify(options: Record<string, unknown>, callback: (error: Error | null, response?: unknown) => void): unknown;
}

/** Our own cap on waiting for the notifier: a stuck notification daemon must not hold a run. */
const NOTIFY_WAIT_MS = 15_000;

/** Shows a notification; never throws: `{ delivered: false, reason }` where no desktop can show it. */
export async function deliverNotification(options: NotificationOptions, loadNotifier: () => Notifier): Promise<NotificationResult> {
  let notifier: Notifier;
  try {
    notifier = loadNotifier();
  } catch (error) {
    return { delivered: false, reason: messageOf(error) };
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
        (error) => done(error ? { delivered: false, reason: noDaemonHint(messageOf(error)) } : { delivered: true }),
      );
    } catch (error) {
      done({ delivered: false, reason: noDaemonHint(messageOf(error)) });
    }
  });
}

function noDaemonHint(reason: string): string {
  if (/not found|must be installed|ENOENT/i.test(reason)) {
    return `${reason} (no desktop notification tool on this machine; on Linux install libnotify-bin and run inside a desktop session)`;
  }
  return reason;
}

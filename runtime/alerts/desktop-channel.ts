import { deliverNotification } from "../../helpers/notifications.ts";
import type { AlertChannel } from "./alert-channel.ts";
import { alertTitle } from "./alert-message.ts";

/** node-notifier, as notify_on_failure always did; no desktop (a server) counts as a failed delivery. */
export function desktopChannel(name: string): AlertChannel {
  return {
    name,
    type: "desktop",
    send: async (message) => {
      const result = await deliverNotification({ title: `taskhost: ${alertTitle(message)}`, message: message.text, urgency: message.event === "recovered" ? "normal" : "critical" });
      if (!result.delivered) throw new Error(result.reason ?? "not shown");
    },
  };
}

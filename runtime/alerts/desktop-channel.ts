import { createRequire } from "node:module";
import { deliverNotification, type Notifier } from "../util/desktop-notify.ts";
import type { AlertChannel } from "./alert-channel.ts";
import { alertTitle } from "./alert-message.ts";

/** node-notifier, as notify_on_failure always did; no desktop (a server) counts as a failed delivery. */
export function desktopChannel(name: string): AlertChannel {
  return {
    name,
    type: "desktop",
    send: async (message) => {
      const result = await deliverNotification({ title: `taskhost: ${alertTitle(message)}`, message: message.text, urgency: message.event === "recovered" ? "normal" : "critical" }, () => createRequire(import.meta.url)("node-notifier") as Notifier);
      if (!result.delivered) throw new Error(result.reason ?? "not shown");
    },
  };
}

import { createRequire } from "node:module";
import { createSmtpTransport, defaultFrom, type SmtpSettings } from "../util/smtp-transport.ts";
import type { AlertChannel } from "./alert-channel.ts";
import { alertBody, alertTitle } from "./alert-message.ts";

/** An e-mail per alert through `alerts.smtp` (read when sent, so a config reload applies). */
export function emailChannel(name: string, to: readonly string[], smtp: () => SmtpSettings): AlertChannel {
  return {
    name,
    type: "email",
    send: async (message, signal) => {
      const settings = smtp();
      // Loaded at the first alert e-mail: a host that sends none never carries nodemailer.
      const transport = createSmtpTransport(settings, createRequire(import.meta.url)("nodemailer") as typeof import("nodemailer"));
      const abort = () => transport.close();
      signal.addEventListener("abort", abort, { once: true });
      try {
        await transport.sendMail({ from: defaultFrom(settings), to: [...to], subject: `[taskhost] ${alertTitle(message)}`, text: alertBody(message) });
      } finally {
        signal.removeEventListener("abort", abort);
        transport.close();
      }
    },
  };
}

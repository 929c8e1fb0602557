/**
 * The SMTP side shared by alert e-mails (runtime/alerts) and sendEmail
 * (helpers/email.ts, in task workers). nodemailer comes in as an argument: the
 * host loads it normally, a task's bundle loads it from taskhost's own install.
 */
import os from "node:os";
import type { Transporter } from "nodemailer";

/** The SMTP server of `alerts.smtp` in config/config.yaml (the same one alert e-mails use). */
export interface SmtpSettings {
  readonly host: string | null;
  readonly port: number;
  /** TLS from the first byte (port 465); false: STARTTLS when the server offers it. */
  readonly secure: boolean;
  readonly user: string | null;
  readonly password: string | null;
  /** Default From; null: `taskhost@<hostname>`. */
  readonly from: string | null;
}

/** nodemailer's SMTP transport for these settings; throws a clear error when no server is configured. */
export function createSmtpTransport(smtp: SmtpSettings, nodemailer: typeof import("nodemailer")): Transporter {
  if (!smtp.host) {
    throw new Error("SMTP: no server configured; set alerts.smtp.host (and port, user, from) in config/config.yaml, the password in config/secrets.yaml");
  }
  if (smtp.user && !smtp.password) {
    throw new Error(
      `SMTP: alerts.smtp.user is "${smtp.user}" but no password was found; put alerts.smtp.password in config/secrets.yaml ` +
        "(TASKHOST_SMTP_PASSWORD reaches the host's alert e-mails only, never a task)",
    );
  }
  return nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    auth: smtp.user ? { user: smtp.user, pass: smtp.password ?? "" } : undefined,
    // A mail server that hangs must not hold a run (or an alert) for nodemailer's 10 minutes.
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 30_000,
  });
}

/** The From address of these settings. */
export function defaultFrom(smtp: SmtpSettings): string {
  return smtp.from ?? `taskhost@${os.hostname()}`;
}

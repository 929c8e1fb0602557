import os from "node:os";
import path from "node:path";
import type { SendMailOptions, Transporter } from "nodemailer";
import { loadConfig } from "./config.ts";
import { requireHostModule } from "./host-modules.ts";
import { getProjectRoot } from "./project-root.ts";

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

export interface EmailAttachment {
  /** The name the recipient sees; default the file's name. */
  filename?: string;
  /** The bytes (or text) of the attachment... */
  content?: string | Buffer | Uint8Array;
  /** ...or a file to read, relative to the project root. */
  path?: string;
  /** Default: guessed from the file name. */
  contentType?: string;
}

export interface EmailOptions {
  to: string | string[];
  subject: string;
  text?: string;
  html?: string;
  attachments?: EmailAttachment[];
  cc?: string | string[];
  bcc?: string | string[];
  replyTo?: string;
  /** Default `alerts.smtp.from`. */
  from?: string;
}

export interface EmailResult {
  messageId: string;
  accepted: string[];
  rejected: string[];
}

/** nodemailer's SMTP transport for these settings; throws a clear error when no server is configured. */
export function createSmtpTransport(smtp: SmtpSettings): Transporter {
  if (!smtp.host) {
    throw new Error("sendEmail: no SMTP server configured; set alerts.smtp.host (and port, user, from) in config/config.yaml, the password in config/secrets.yaml");
  }
  if (smtp.user && !smtp.password) {
    throw new Error(
      `sendEmail: alerts.smtp.user is "${smtp.user}" but no password was found; put alerts.smtp.password in config/secrets.yaml ` +
        "(TASKHOST_SMTP_PASSWORD reaches the host's alert e-mails only, never a task)",
    );
  }
  const nodemailer = requireHostModule<typeof import("nodemailer")>("nodemailer");
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

/**
 * `alerts.smtp` as a task sees it: config/config.yaml, with config/secrets.yaml's
 * `alerts.smtp` over it (the host reads the same keys the same way). Runs never
 * see TASKHOST_* variables (issue 10.9), so TASKHOST_SMTP_PASSWORD serves the
 * host's alert e-mails only: a task that sends mail needs the password in
 * config/secrets.yaml.
 */
export function smtpSettings(): SmtpSettings {
  const section = (file: string): Record<string, unknown> => {
    const alerts = loadConfig(file).alerts as { smtp?: unknown } | undefined;
    return alerts && typeof alerts.smtp === "object" && alerts.smtp !== null ? (alerts.smtp as Record<string, unknown>) : {};
  };
  const merged = { ...section("config.yaml"), ...section("secrets.yaml") };
  const text = (key: string): string | null => {
    const v = merged[key];
    if (v == null || v === "") return null;
    if (typeof v !== "string") throw new Error(`sendEmail: alerts.smtp.${key} must be a string in config/config.yaml`);
    return v.trim();
  };
  const port = merged.port ?? 587;
  if (typeof port !== "number" || !Number.isInteger(port)) throw new Error("sendEmail: alerts.smtp.port must be a port number in config/config.yaml");
  return {
    host: text("host"),
    port,
    secure: merged.secure === true,
    user: text("user"),
    password: text("password"),
    from: text("from"),
  };
}

/**
 * Sends an e-mail through the SMTP server of `alerts.smtp` (contract §11).
 * Resolves once the server accepted it; throws (so the run fails and can be
 * retried) when no server is configured, it cannot be reached, or it refuses
 * every recipient. Attachment paths are relative to the project root.
 *
 * @example
 * await sendEmail({
 *   to: ["boss@example.com"],
 *   subject: "Sales report",
 *   text: "Attached: this week's sales.",
 *   attachments: [{ path: "data/reports/sales.xlsx" }, { filename: "sales.csv", content: csv }],
 * });
 */
export async function sendEmail(options: EmailOptions, smtp: SmtpSettings = smtpSettings()): Promise<EmailResult> {
  const transport = createSmtpTransport(smtp);
  try {
    const message: SendMailOptions = {
      ...options,
      from: options.from ?? defaultFrom(smtp),
      attachments: options.attachments?.map((a) => ({
        ...a,
        content: a.content instanceof Uint8Array && !Buffer.isBuffer(a.content) ? Buffer.from(a.content) : a.content,
        path: a.path === undefined ? undefined : path.resolve(getProjectRoot(), a.path),
      })),
    };
    const info = (await transport.sendMail(message)) as { messageId: string; accepted: unknown[]; rejected: unknown[] };
    const addresses = (list: unknown[]) => list.map((a) => (typeof a === "string" ? a : String((a as { address?: string }).address)));
    return { messageId: info.messageId, accepted: addresses(info.accepted ?? []), rejected: addresses(info.rejected ?? []) };
  } finally {
    transport.close();
  }
}

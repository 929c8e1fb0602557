import path from "node:path";
import type { SendMailOptions, Transporter } from "nodemailer";
import { hostConfigFile, loadYamlFile } from "./config.ts";
import { requireHostModule } from "./host-modules.ts";
import { getProjectRoot } from "./project-root.ts";
import { displayConfigPath } from "../runtime/util/display-path.ts";
import { createSmtpTransport, defaultFrom, type SmtpSettings } from "../runtime/util/smtp-transport.ts";

export type { SmtpSettings } from "../runtime/util/smtp-transport.ts";

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

/** nodemailer's SMTP transport for these settings (taskhost's own nodemailer); throws a clear error when no server is configured. */
function transportFor(smtp: SmtpSettings): Transporter {
  return createSmtpTransport(smtp, requireHostModule<typeof import("nodemailer")>("nodemailer"));
}

/**
 * `alerts.smtp` as a task sees it: the host's configuration file (config/config.yaml,
 * or the one given to `start --config`), with the `alerts.smtp` of the secrets.yaml
 * beside it over it (the host reads the same keys the same way). Runs never
 * see TASKHOST_* variables (issue 10.9), so TASKHOST_SMTP_PASSWORD serves the
 * host's alert e-mails only: a task that sends mail needs the password in
 * config/secrets.yaml.
 */
export function smtpSettings(): SmtpSettings {
  const section = (file: string): Record<string, unknown> => {
    const alerts = loadYamlFile(file).alerts as { smtp?: unknown } | undefined;
    return alerts && typeof alerts.smtp === "object" && alerts.smtp !== null ? (alerts.smtp as Record<string, unknown>) : {};
  };
  const configFile = hostConfigFile();
  const merged = { ...section(configFile), ...section(path.join(path.dirname(configFile), "secrets.yaml")) };
  const shown = displayConfigPath(configFile, getProjectRoot());
  const text = (key: string): string | null => {
    const v = merged[key];
    if (v == null || v === "") return null;
    if (typeof v !== "string") throw new Error(`sendEmail: alerts.smtp.${key} must be a string in ${shown}`);
    return v.trim();
  };
  const port = merged.port ?? 587;
  if (typeof port !== "number" || !Number.isInteger(port)) throw new Error(`sendEmail: alerts.smtp.port must be a port number in ${shown}`);
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
  const transport = transportFor(smtp);
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

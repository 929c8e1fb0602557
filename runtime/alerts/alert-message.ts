import type { AlertRule } from "../config/alerts-options.ts";

/**
 * What every channel is given: the webhook body of contract §11, plus `at`
 * and `links`. `run` is a run as `history --json` prints it, or null.
 */
export interface AlertMessage {
  readonly event: AlertRule;
  readonly text: string;
  readonly task: { readonly id: string; readonly title: string };
  readonly run: Readonly<Record<string, unknown>> | null;
  readonly host: { readonly id: string; readonly hostname: string };
  /** The dashboard's pages for the task and run, when a dashboard runs. */
  readonly links: { readonly dashboard?: string; readonly task?: string };
  /** ISO time the rule fired. */
  readonly at: string;
}

/** A short title for subjects and desktop notifications: "failure: Backup". */
export function alertTitle(message: AlertMessage): string {
  return `${message.event}: ${message.task.title}`;
}

/** Plain text with the details under the one-line text (e-mail bodies). */
export function alertBody(message: AlertMessage): string {
  const run = message.run as { id?: number; status?: string; scheduledFor?: string; error?: string | null; output?: string } | null;
  const lines = [message.text, "", `task: ${message.task.id} (${message.task.title})`, `host: ${message.host.hostname} (${message.host.id})`, `at: ${message.at}`];
  if (run) {
    lines.push(`run: #${run.id} ${run.status ?? ""}, scheduled for ${run.scheduledFor ?? "-"}`);
    if (run.error) lines.push("", "error:", run.error);
    if (run.output) lines.push("", "output (excerpt):", run.output.slice(-4000));
  }
  if (message.links.task) lines.push("", message.links.task);
  return lines.join("\n");
}

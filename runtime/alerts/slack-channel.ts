import type { AlertChannel } from "./alert-channel.ts";
import type { AlertMessage } from "./alert-message.ts";
import { postJson } from "./post-json.ts";

const ICON: Record<string, string> = {
  failure: ":red_circle:",
  streak: ":rotating_light:",
  recovered: ":large_green_circle:",
  slow: ":hourglass:",
  missed: ":warning:",
  error: ":x:",
};

/** The incoming-webhook body: `text` is all Slack, Mattermost and Discord's /slack endpoint need. */
export function slackText(message: AlertMessage): string {
  const link = message.links.task ? ` <${message.links.task}|open>` : "";
  return `${ICON[message.event] ?? ""} *${message.event}* ${message.text} (on ${message.host.hostname})${link}`.trim();
}

export function slackChannel(name: string, url: string): AlertChannel {
  return {
    name,
    type: "slack",
    send: (message, signal) => postJson(url, JSON.stringify({ text: slackText(message) }), {}, signal),
  };
}

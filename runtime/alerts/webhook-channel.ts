import { createHmac } from "node:crypto";
import type { AlertChannel } from "./alert-channel.ts";
import { postJson } from "./post-json.ts";

export const SIGNATURE_HEADER = "X-Taskhost-Signature";

/** `sha256=<hex HMAC-SHA256 of the body>` (the GitHub webhook convention). */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** A JSON POST of the alert (contract §11), signed when the channel has a secret. */
export function webhookChannel(name: string, url: string, secret: string | null): AlertChannel {
  return {
    name,
    type: "webhook",
    send: (message, signal) => {
      const body = JSON.stringify(message);
      return postJson(url, body, secret ? { [SIGNATURE_HEADER]: signBody(body, secret) } : {}, signal);
    },
  };
}

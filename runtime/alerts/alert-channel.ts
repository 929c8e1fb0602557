import type { ChannelType } from "../config/alerts-options.ts";
import type { AlertMessage } from "./alert-message.ts";

/** One configured destination. `send` resolves once the far end took the alert, and throws when it did not. */
export interface AlertChannel {
  readonly name: string;
  readonly type: ChannelType;
  send(message: AlertMessage, signal: AbortSignal): Promise<void>;
}

import type { AlertChannel } from "./alert-channel.ts";
import type { AlertMessage } from "./alert-message.ts";
import type { ChannelOptions, SmtpOptions } from "../config/alerts-options.ts";
import { DeliveryQueue, type ChannelHealth, type DeliveryOptions } from "./delivery-queue.ts";
import { desktopChannel } from "./desktop-channel.ts";
import { emailChannel } from "./email-channel.ts";
import { slackChannel } from "./slack-channel.ts";
import { webhookChannel } from "./webhook-channel.ts";

/** The desktop channel `notifications.notify_on_failure` has always meant, when no channel of that name is configured. */
export const IMPLICIT_DESKTOP = "desktop";

export function createChannel(options: ChannelOptions, smtp: () => SmtpOptions): AlertChannel {
  switch (options.type) {
    case "webhook":
      return webhookChannel(options.name, options.url, options.secret);
    case "slack":
      return slackChannel(options.name, options.url);
    case "email":
      return emailChannel(options.name, options.to, smtp);
    case "desktop":
      return desktopChannel(options.name);
  }
}

/**
 * The configured channels, each with its own outbox: one slow or dead channel
 * never holds up another. A config reload replaces only the channels whose
 * settings changed (their health starts over; the others keep theirs).
 */
export class AlertChannels {
  private readonly queues = new Map<string, { key: string; queue: DeliveryQueue }>();

  constructor(
    private readonly smtp: () => SmtpOptions,
    private readonly delivery: DeliveryOptions,
  ) {}

  configure(channels: readonly ChannelOptions[], implicitDesktop: boolean): void {
    const wanted = new Map<string, ChannelOptions>(channels.map((c) => [c.name, c]));
    if (implicitDesktop && !wanted.has(IMPLICIT_DESKTOP)) wanted.set(IMPLICIT_DESKTOP, { name: IMPLICIT_DESKTOP, type: "desktop" });
    for (const [name, entry] of this.queues) {
      if (wanted.get(name) && JSON.stringify(wanted.get(name)) === entry.key) continue;
      entry.queue.close("its settings changed (config reload)");
      this.queues.delete(name);
    }
    for (const [name, options] of wanted) {
      if (this.queues.has(name)) continue;
      this.queues.set(name, { key: JSON.stringify(options), queue: new DeliveryQueue(createChannel(options, this.smtp), this.delivery) });
    }
  }

  has(name: string): boolean {
    return this.queues.has(name);
  }

  names(): string[] {
    return [...this.queues.keys()];
  }

  /** Hands the alert to each named channel; returns those that exist. */
  send(names: readonly string[], message: AlertMessage): string[] {
    const sent: string[] = [];
    for (const name of names) {
      const entry = this.queues.get(name);
      if (!entry) continue;
      entry.queue.push(message);
      sent.push(name);
    }
    return sent;
  }

  health(): ChannelHealth[] {
    return [...this.queues.values()].map((e) => e.queue.status());
  }

  async idle(): Promise<void> {
    await Promise.all([...this.queues.values()].map((e) => e.queue.idle()));
  }

  close(): void {
    for (const entry of this.queues.values()) entry.queue.close();
    this.queues.clear();
  }
}

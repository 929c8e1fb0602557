import type { ResolvedConfig } from "../config/config-options.ts";
import type { Dashboard } from "../dashboard/start-dashboard.ts";

/** The keys that open, move or close the HTTP server. */
export const HTTP_KEYS = ["dashboard.enabled", "dashboard.host", "dashboard.port", "metrics.enabled"] as const;

const wanted = (config: ResolvedConfig) => config.dashboard.enabled || config.metrics.enabled;

/**
 * The dashboard and /metrics server (one HTTP server), live: a reload that
 * changes HTTP_KEYS gets a server on the new settings. As Vite restarts its
 * server, the new one is listening before the old one closes, except when it
 * needs the old one's port; if the new one cannot listen, the old settings
 * stay in force (reopened where they were closed) and reconfigure throws.
 */
export class HttpFace {
  private current: Dashboard | null = null;
  private closing: Promise<void> | null = null;

  constructor(private readonly open: (config: ResolvedConfig) => Promise<Dashboard>) {}

  get dashboard(): Dashboard | null {
    return this.current;
  }

  async start(config: ResolvedConfig): Promise<void> {
    if (wanted(config)) this.current = await this.open(config);
  }

  async reconfigure(prev: ResolvedConfig, next: ResolvedConfig): Promise<void> {
    if (this.closing) return;
    const old = this.current;
    if (!wanted(next)) {
      this.current = null;
      await old?.close();
      return;
    }
    // The same port (or 0, which keeps the port it had): free it first.
    const freeFirst = old != null && (next.dashboard.port === 0 || next.dashboard.port === Number(new URL(old.url).port));
    if (freeFirst) {
      this.current = null;
      await old.close();
    }
    try {
      this.current = await this.open(next);
    } catch (error) {
      if (freeFirst) this.current = await this.open(prev).catch(() => null);
      throw error;
    }
    if (!freeFirst) await old?.close();
  }

  close(): Promise<void> {
    this.closing ??= this.current?.close() ?? Promise.resolve();
    return this.closing;
  }
}

import { existsSync } from "node:fs";
import { chromium, type BrowserContext } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
/** On a developer machine without Chromium the browser tests skip; in CI (`.ci/run` installs it) they must run. */
export const skipBrowser = !existsSync(CHROMIUM) && !process.env.CI;

/** Debian's Chromium, headless, with an empty profile and none of its background traffic (the network is closed). */
export function launchChromium(profile: string, viewport = { width: 1180, height: 760 }): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    viewport,
    colorScheme: "light",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

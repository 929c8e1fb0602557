import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { startDashboardHost, TOKEN, type DashboardHost } from "./support/dashboard-host.ts";
import { REPO } from "./support/temp-project.ts";
import { launchChromium, skipBrowser } from "./support/chromium.ts";
import { readHostLog } from "./support/host-log.ts";
import { waitFor } from "./support/wait-for.ts";

describe.skipIf(skipBrowser)("the dashboard page in Chromium", () => {
  let d: DashboardHost;
  let browser: BrowserContext;
  let profile: string;
  let page: Page;

  beforeAll(async () => {
    profile = await mkdtemp(path.join(os.tmpdir(), "th-chromium-"));
    const [host, launched] = await Promise.allSettled([
      startDashboardHost(),
      launchChromium(profile),
    ]);
    if (host.status === "fulfilled") d = host.value;
    if (launched.status === "fulfilled") browser = launched.value;
    for (const result of [host, launched]) if (result.status === "rejected") throw result.reason;
    page = browser.pages()[0] ?? (await browser.newPage());
  });
  afterAll(async () => {
    await browser?.close();
    await d?.project.cleanup();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  const row = (id: string) => page.locator(`article.task-row[data-task="${id}"]`);

  it("logs in with the token and lists the tasks, with the broken one's error", async () => {
    await page.goto(d.base);
    await page.fill("#token", "wrong");
    await page.click("button[type=submit]");
    await expect.poll(() => page.textContent("#login-error")).toContain("wrong token");
    await page.fill("#token", TOKEN);
    await page.click("button[type=submit]");
    await row("ticker").waitFor();
    expect(await row("reports/daily").locator(".title a").textContent()).toBe("Daily report");
    // Issue 11.15: cron in words (the pattern kept for those who read cron).
    expect(await row("reports/daily").locator(".schedule-cell").textContent()).toContain("at 09:00 (cron 0 9 * * *)");
    expect(await row("broken").locator(".state").textContent()).toBe("error");
    expect(await row("broken").locator(".err").textContent()).toContain('frontmatter field "timeout"');
    // The cookie is HttpOnly: the page's script cannot read it.
    expect(await page.evaluate("document.cookie")).toBe("");
  });

  it("shows the ticking task live, without reloading", async () => {
    const last = row("ticker").locator(".last-cell");
    await expect.poll(() => last.textContent(), { timeout: 10_000 }).toContain("success");
    const seen = new Set<string>();
    await expect
      .poll(
        async () => {
          seen.add((await row("ticker").locator("[data-ago]").getAttribute("data-ago")) ?? "");
          return seen.size;
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBeGreaterThanOrEqual(3);
    expect(await row("ticker").locator(".countdown").textContent()).toMatch(/^in \ds$|^due now$/);
  });

  it("runs a task now after confirming, and pauses and resumes one", async () => {
    await row("reports/daily").locator("[data-action=run]").click();
    await page.locator("#confirm").waitFor();
    expect(await page.textContent("#confirm-text")).toContain("Daily report");
    await page.click("#confirm-ok");
    await expect.poll(() => row("reports/daily").locator(".last-cell").textContent(), { timeout: 15_000 }).toContain("success");

    await row("ticker").locator("[data-action=pause]").click();
    await expect.poll(() => row("ticker").locator(".state").textContent()).toBe("paused");
    expect(await row("ticker").locator(".next-cell").textContent()).toContain("paused");
    await row("ticker").locator("[data-action=resume]").click();
    await expect.poll(() => row("ticker").locator(".state").textContent()).toMatch(/scheduled|running/);
  });

  it("opens a failed run's error in the task view, and takes screenshots", async () => {
    // Some history for the chart: a few runs of the report, then a failure.
    for (let i = 0; i < 4; i++) await fetch(`${d.base}/api/tasks/reports%2Fdaily/run?wait=1`, { method: "POST", headers: { Authorization: `Bearer ${TOKEN}` } });
    await fetch(`${d.base}/api/tasks/flaky/run?wait=1`, { method: "POST", headers: { Authorization: `Bearer ${TOKEN}` } });
    await expect.poll(() => row("flaky").locator(".last-cell").textContent(), { timeout: 15_000 }).toContain("failure");
    const hideToast = () => page.evaluate("document.getElementById('toast').hidden = true");
    await hideToast();
    const data = path.join(d.project.root, "data");
    await page.screenshot({ path: path.join(data, "dashboard.png") });

    await row("flaky").locator(".title a").click();
    const failed = page.locator('tr.run[data-status="failure"]').first();
    await failed.waitFor();
    // Issue 11.15: the run list's times carry their date (the same run formatted with the date).
    const startedAt = (await (await fetch(`${d.base}/api/tasks/flaky/runs?limit=1`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json()) as { runs: Array<{ startedAt: string }> };
    const withDate = await page.evaluate(
      (iso) => new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(new Date(iso)),
      startedAt.runs[0]!.startedAt,
    );
    expect(await failed.locator("td").nth(4).textContent()).toBe(withDate);
    await failed.click();
    const error = page.locator("pre.run-error").first();
    await error.waitFor();
    expect(await error.textContent()).toContain("disk almost full: /var is 97% used");
    expect(await page.locator("pre.output").first().textContent()).toContain("checking /var");

    // The task view of the report (id with a "/"), with its chart.
    await page.goto(`${d.base}/#/task/${encodeURIComponent("reports/daily")}`);
    await page.locator("svg.chart rect.bar").first().waitFor();
    expect(await page.locator("svg.chart rect.bar").count()).toBeGreaterThanOrEqual(5);
    // Clicked through the DOM: the page redraws as runs come in, which can move a row from under a pointer click.
    await page.locator("tr.run").first().evaluate((el) => (el as unknown as { click(): void }).click());
    await page.locator("pre.output").first().waitFor();
    await hideToast();
    await page.screenshot({ path: path.join(data, "dashboard-task.png") });

    // Phone width, dark theme: still usable (no sideways scrolling).
    await page.setViewportSize({ width: 390, height: 800 });
    await page.emulateMedia({ colorScheme: "dark" });
    await page.goto(`${d.base}/#/`);
    await row("ticker").waitFor();
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
    await page.screenshot({ path: path.join(data, "dashboard-phone-dark.png"), fullPage: true });

    // TASKHOST_SCREENSHOTS=docs refreshes the README's pictures (relative to the repository).
    const keep = process.env.TASKHOST_SCREENSHOTS;
    if (keep) {
      await mkdir(path.resolve(REPO, keep), { recursive: true });
      for (const name of ["dashboard.png", "dashboard-task.png"]) await copyFile(path.join(data, name), path.resolve(REPO, keep, name));
    }
    expect(existsSync(path.join(data, "dashboard.png"))).toBe(true);
  });
  it("shows a manual task's last run, which no schedule holds", async () => {
    await d.project.writeTask("adhoc.ts", 'import type { TaskContext } from "taskhost";\nexport default async function (ctx: TaskContext) {\n  ctx.log.info("by hand");\n}\n');
    await expect.poll(() => row("adhoc").locator(".state").textContent(), { timeout: 15_000 }).toBe("manual");
    expect(await row("adhoc").locator(".last-cell").textContent()).toMatch(/never$/);
    await fetch(`${d.base}/api/tasks/adhoc/run?wait=1`, { method: "POST", headers: { Authorization: `Bearer ${TOKEN}` } });
    await expect.poll(() => row("adhoc").locator(".last-cell").textContent(), { timeout: 15_000 }).toContain("success");
  });

  it("after a crash, every page says how the previous host ended (status's lastCrash)", async () => {
    const crashed = await d.host.hostPid();
    process.kill(crashed, "SIGKILL");
    // The new host's dashboard, on a port of its own (port: 0): its dashboard.start line is the last.
    const base = await waitFor(
      async () => {
        const starts = (await readHostLog(d.project.root)).split("\n").filter((line) => line.includes('"dashboard.start"'));
        return starts.length >= 2 ? (JSON.parse(starts.at(-1)!) as { url: string }).url.replace(/\/$/, "") : null;
      },
      { timeoutMs: 20_000, what: "the restarted host's dashboard" },
    );
    await page.goto(base);
    await page.locator("#token, article.task-row").first().waitFor();
    if (await page.locator("#token").isVisible()) {
      await page.fill("#token", TOKEN);
      await page.click("button[type=submit]");
    }
    const note = page.locator("details.crash-note");
    await note.waitFor();
    expect(await note.locator("summary").textContent()).toMatch(/^The host crashed at .+ and was restarted by the supervisor: the host was killed by SIGKILL after \d+ s/);
    expect(await note.getAttribute("open")).toBeNull();
    await page.goto(`${base}/#/task/ticker`);
    await page.locator("details.crash-note").waitFor();
  });
});

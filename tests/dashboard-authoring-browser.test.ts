import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { startDashboardHost, TOKEN, type DashboardHost } from "./support/dashboard-host.ts";
import { REPO } from "./support/temp-project.ts";
import { launchChromium, skipBrowser } from "./support/chromium.ts";
import { writeScripts } from "./support/scripts.ts";
import type { RunJson, StatusJson } from "../runtime/host/report-shapes.ts";

describe.skipIf(skipBrowser)("creating, editing, deleting tasks and the timeline, in Chromium", () => {
  let d: DashboardHost;
  let browser: BrowserContext;
  let profile: string;
  let page: Page;
  const shots: string[] = [];

  const taskFile = (id: string) => path.join(d.project.root, "tasks", `${id}.ts`);
  const status = async () =>
    (await (await fetch(`${d.base}/api/status`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json()) as StatusJson;
  const task = async (id: string) => (await status()).tasks.find((t) => t.id === id);
  const shoot = async (name: string) => {
    await page.evaluate("document.getElementById('toast').hidden = true");
    await page.screenshot({ path: path.join(d.project.root, "data", name), fullPage: true });
    shots.push(name);
  };

  /** Fills the new-task form for a script run every 2 seconds and submits it. */
  async function createThroughForm(id: string, script: string, args: string[] = []) {
    await page.goto(`${d.base}/new`);
    await page.selectOption("#f-script", script);
    await page.fill("#f-id", id);
    if (args.length) await page.fill("#f-args", args.join("\n"));
    await page.check('input[name="kind"][value="every"]');
    await page.fill("#f-n", "2");
    await page.selectOption("#f-unit", "seconds");
    await expect.poll(() => page.textContent("[data-preview=schedule] .zone")).toContain("every 2 seconds");
    expect(await page.locator("[data-preview=schedule] li").count()).toBe(5);
    await page.click('[data-action="create"]');
    await page.waitForURL((url) => url.hash === `#/task/${encodeURIComponent(id)}`);
  }

  beforeAll(async () => {
    profile = await mkdtemp(path.join(os.tmpdir(), "th-chromium-"));
    const [host, launched] = await Promise.allSettled([startDashboardHost({}), launchChromium(profile, { width: 1180, height: 860 })]);
    if (host.status === "fulfilled") d = host.value;
    if (launched.status === "fulfilled") browser = launched.value;
    for (const result of [host, launched]) if (result.status === "rejected") throw result.reason;
    await writeScripts(d.project);
    page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(d.base);
    await page.fill("#token", TOKEN);
    await page.click("button[type=submit]");
    await page.locator("#view .summary").waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await d?.project.cleanup();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it("refuses a bad cron expression in the form with the reason, and writes nothing", async () => {
    await page.goto(`${d.base}/new`);
    await page.selectOption("#f-script", "scripts/hello.py");
    await page.fill("#f-id", "bad-cron");
    await page.fill("#f-cron", "61 * * * *");
    const reason = page.locator('[data-error-for="schedule"]');
    await expect.poll(() => reason.textContent()).toContain("Invalid value for minute: 61");
    expect(await reason.isVisible()).toBe(true);
    await page.click('[data-action="create"]');
    await expect.poll(() => reason.textContent()).toContain('cron("61 * * * *") is invalid');
    expect(new URL(page.url()).pathname).toBe("/new");
    expect(existsSync(taskFile("bad-cron"))).toBe(false);
    // A good expression clears the reason and previews the next runs in the schedule's zone.
    await page.fill("#f-timezone", "Asia/Tokyo");
    await page.fill("#f-cron", "30 9 * * 1-5");
    await expect.poll(() => page.locator("[data-preview=schedule] li").count()).toBe(5);
    expect(await reason.isVisible()).toBe(false);
    expect(await page.textContent("[data-preview=schedule] .zone")).toContain("Asia/Tokyo");
    expect(await page.locator("[data-preview=schedule] li").first().textContent()).toMatch(/^\w{3} \d{4}-\d\d-\d\d 09:30:00 \+09:00$/);
    await shoot("dashboard-new-task.png");
  });

  it("creates tasks for a Python and a shell script through the form, and they run on their schedule", async () => {
    await createThroughForm("py-report", "scripts/hello.py", ["--day", "today"]);
    const lastRun = page.locator("tr.run").first();
    await expect.poll(() => lastRun.getAttribute("data-status"), { timeout: 20_000 }).toBe("success");
    // The list redraws as runs come in (every 2 s here): open one run by its id, clicked through the DOM.
    const runId = await page.locator('tr.run[data-status="success"]').first().getAttribute("data-run");
    await page.locator(`tr.run[data-run="${runId}"]`).evaluate((el) => (el as unknown as { click(): void }).click());
    expect(await page.locator(`tr[data-run-details="${runId}"] pre.output`).textContent()).toMatch(/python got \d{4}-\d\d-\d\dT\d\d:\d\d:\d[02468]\.000Z \['--day', 'today'\]/);
    expect(await readFile(taskFile("py-report"), "utf8")).toContain('args: [ctx.scheduledFor.toISOString(), "--day", "today"]');

    await createThroughForm("etl/load", "scripts/hello.sh");
    await expect.poll(() => page.locator("tr.run").first().getAttribute("data-status"), { timeout: 20_000 }).toBe("success");
    expect((await task("etl/load"))?.schedules[0]?.spec).toBe("every 2 seconds");
  });

  it("edits a schedule: the file changes in place and the next run moves", async () => {
    await page.goto(`${d.base}/edit?task=py-report`);
    const box = page.locator('[data-schedule="run"]');
    await box.waitFor();
    expect(await box.inputValue()).toBe("every(2).seconds");
    const before = await readFile(taskFile("py-report"), "utf8");
    await box.fill('every().day.at("03:00")');
    await expect.poll(() => page.locator('[data-preview="schedule:run"] li').first().textContent()).toContain("03:00:00");
    await page.fill("#f-retries", "2");
    await page.click('[data-action="save"]');
    await expect.poll(() => page.textContent("#source")).toContain('@repeat(every().day.at("03:00"))');
    const after = await readFile(taskFile("py-report"), "utf8");
    expect(after).toBe(before.replace("@repeat(every(2).seconds)", '@repeat(every().day.at("03:00"))').replace("---\n*/", "retry_count: 2\n---\n*/"));
    await expect.poll(async () => (await task("py-report"))?.schedules[0]?.spec, { timeout: 15_000 }).toBe("every day at 03:00");
    const next = new Date((await task("py-report"))!.schedules[0]!.nextRun!);
    expect([next.getUTCHours(), next.getUTCMinutes(), next.getUTCSeconds()]).toEqual([3, 0, 0]);
    await shoot("dashboard-edit-task.png");

    // Someone saves the file by hand meanwhile: the page's save is refused, the hand edit kept.
    await page.reload();
    await box.waitFor();
    await writeFile(taskFile("py-report"), `${after}// kept\n`);
    await page.fill("#f-timeout", "90");
    await page.click('[data-action="save"]');
    await page.locator("#conflict").waitFor();
    expect(await page.textContent('[data-error-for="form"]')).toContain("changed on disk since it was loaded");
    expect(await readFile(taskFile("py-report"), "utf8")).toBe(`${after}// kept\n`);
  });

  it("deletes a task to tasks/.trash/ and restores it", async () => {
    await page.goto(`${d.base}/edit?task=etl%2Fload`);
    await page.click('[data-action="delete"]');
    await page.click("#confirm-ok");
    await page.waitForURL((url) => url.pathname === "/new");
    expect(existsSync(taskFile("etl/load"))).toBe(false);
    await expect.poll(async () => (await task("etl/load")) === undefined).toBe(true);
    const row = page.locator("[data-trash]", { hasText: "etl/load" });
    await row.waitFor();
    expect(await readFile(path.join(d.project.root, "tasks", ".trash", (await row.getAttribute("data-trash"))!), "utf8")).toContain("scripts/hello.sh");
    await row.locator('[data-action="restore"]').click();
    await expect.poll(() => existsSync(taskFile("etl/load"))).toBe(true);
    await expect.poll(async () => (await task("etl/load"))?.state).toBe("scheduled");
    await expect.poll(() => page.locator("[data-trash]").count()).toBe(0);
  });

  it("backfills a past range from the task's page, previewed, one run at a time, reported as it goes", async () => {
    // An hourly report, made through the form with a cron expression.
    await page.goto(`${d.base}/new`);
    await page.selectOption("#f-script", "scripts/hello.sh");
    await page.fill("#f-id", "hourly");
    await page.fill("#f-title", "Hourly report");
    await page.fill("#f-cron", "0 * * * *");
    await expect.poll(() => page.textContent("[data-preview=schedule] .zone")).toContain("(cron 0 * * * *)");
    await page.click('[data-action="create"]');
    await page.waitForURL((url) => url.hash === "#/task/hourly");
    await page.locator('[data-action="backfill"]').click();
    await page.waitForURL((url) => url.pathname === "/backfill");
    const hour = 3600_000;
    const top = Math.floor(Date.now() / hour) * hour;
    await page.fill("#f-from", new Date(top - 8 * hour).toISOString());
    await page.fill("#f-to", new Date(top - 1).toISOString());
    await page.fill("#f-max", "5");
    await page.click('[data-action="preview"]');
    const previewed = page.locator("#backfill-preview li");
    await expect.poll(() => previewed.count()).toBe(5);
    expect(await page.textContent("#backfill-preview .panel-head")).toContain("more beyond 5");
    expect(await previewed.first().getAttribute("title")).toBe(new Date(top - 8 * hour).toISOString());
    await page.click('[data-action="start"]');
    await page.locator("#backfill-job").waitFor();
    await expect.poll(() => page.getAttribute("#backfill-job", "data-state"), { timeout: 60_000 }).toBe("done");
    expect(await page.locator("#backfill-job tr[data-step]").count()).toBe(5);
    expect(await page.locator("#backfill-job tr[data-step] .badge.success").count()).toBe(5);
    const runs = (await (await fetch(`${d.base}/api/tasks/hourly/runs?limit=50`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json()) as { runs: RunJson[] };
    const backfilled = runs.runs.filter((r) => r.trigger === "backfill").reverse();
    expect(backfilled.map((r) => r.scheduledFor)).toEqual([8, 7, 6, 5, 4].map((n) => new Date(top - n * hour).toISOString()));
    expect(backfilled[0]!.output).toContain(`shell got ${backfilled[0]!.scheduledFor}`);
    await shoot("dashboard-backfill.png");
  });

  it("draws the day's runs on the timeline coloured by status, the next ones ahead, and opens a run", async () => {
    await createThroughForm("failing", "scripts/fails.sh");
    await expect.poll(() => page.locator("tr.run").first().getAttribute("data-status"), { timeout: 20_000 }).toBe("failure");
    await page.goto(`${d.base}/timeline`);
    type Styled = { getComputedStyle(el: unknown): { backgroundColor: string } };
    const colour = (selector: string) => page.locator(selector).first().evaluate((el) => (globalThis as unknown as Styled).getComputedStyle(el).backgroundColor);
    const ok = page.locator('[data-row="etl/load"] .block.run.success');
    await expect.poll(() => ok.count()).toBeGreaterThan(0);
    await expect.poll(() => page.locator('[data-row="failing"] .block.run.failure').count()).toBeGreaterThan(0);
    expect(await colour('[data-row="etl/load"] .block.run.success')).toBe("rgb(22, 128, 60)"); // --ok
    expect(await colour('[data-row="failing"] .block.run.failure')).toBe("rgb(198, 40, 40)"); // --bad
    expect(await page.locator('[data-row="etl/load"] .block.upcoming').count()).toBeGreaterThan(0);
    // The hourly report: its backfilled hours as runs, the hours left out as missed, the next ones ahead.
    if (new Date(Date.now() - 8 * 3600_000).toDateString() === new Date().toDateString()) {
      // The five backfilled hours, and the hour's own run when the test crossed a full hour.
      const hourly = (await (await fetch(`${d.base}/api/tasks/hourly/runs?limit=50`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json()) as { runs: RunJson[] };
      const onTheHour = hourly.runs.filter((r) => r.trigger !== "backfill" && r.status === "success").length;
      expect(await page.locator('[data-row="hourly"] .block.run.success').count()).toBe(5 + onTheHour);
      expect(await page.locator('[data-row="hourly"] .block.missed').count()).toBeGreaterThan(0);
    }
    // The next hour is ahead on today's timeline, unless it is tomorrow's (a test run in the day's last hour).
    if (new Date(Math.ceil(Date.now() / 3600_000) * 3600_000).toDateString() === new Date().toDateString()) {
      expect(await page.locator('[data-row="hourly"] .block.upcoming').count()).toBeGreaterThan(0);
    }
    // The page redraws as runs come in (every 2 s here): click through the DOM, not at a position.
    await page.locator('[data-row="failing"] .block.run.failure').first().evaluate((el) => (el as unknown as { click(): void }).click());
    await page.locator("#run-panel").waitFor();
    expect(await page.textContent("#run-panel .run-error")).toContain("exit code 3");
    await shoot("dashboard-timeline.png");

    await page.click('[data-view="week"]');
    await expect.poll(() => page.textContent("#span-title")).toContain("–");
    await expect.poll(() => page.locator('[data-row="failing"] .block.run.failure').count()).toBeGreaterThan(0);

    // Phone width: the new pages do not scroll sideways (the timeline scrolls inside its panel).
    await page.setViewportSize({ width: 390, height: 800 });
    for (const route of ["/new", "/edit?task=hourly", "/backfill?task=hourly", "/timeline"]) {
      await page.goto(`${d.base}${route}`);
      await page.locator("#view .panel").first().waitFor();
      expect(await page.evaluate<number>("document.documentElement.scrollWidth"), route).toBeLessThanOrEqual(390);
    }
    await page.setViewportSize({ width: 1180, height: 860 });

    // TASKHOST_SCREENSHOTS=docs refreshes the README's pictures (relative to the repository).
    const keep = process.env.TASKHOST_SCREENSHOTS;
    if (keep) {
      await mkdir(path.resolve(REPO, keep), { recursive: true });
      for (const name of shots) await copyFile(path.join(d.project.root, "data", name), path.resolve(REPO, keep, name));
    }
  });
});

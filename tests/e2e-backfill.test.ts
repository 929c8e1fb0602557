import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TempProject, type HostProcess } from "./support/temp-project.ts";
import { duplicateOccurrences, history } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";
import type { BackfillJob } from "../runtime/backfill/backfill-job.ts";

const MINUTE = 60_000;
/** Whole minutes before the minute the file was loaded in (the every-minute schedule's occurrences): fixed, so a test never straddles a boundary. */
const BASE = Math.floor(Date.now() / MINUTE) * MINUTE;
const minutesAgo = (minutes: number) => new Date(BASE - minutes * MINUTE).toISOString();

describe("taskhost backfill, end to end", () => {
  let project: TempProject;
  let host: HostProcess;

  beforeAll(async () => {
    project = await TempProject.create({ scheduler: { timezone: "UTC" } });
    await mkdir(path.join(project.root, "scripts"), { recursive: true });
    await writeFile(path.join(project.root, "scripts", "report.sh"), 'echo "report for $1"\n');
    await writeFile(path.join(project.root, "scripts", "slow.sh"), 'echo "slow for $1"\nsleep 5\necho "done $1"\n');
    for (const name of ["report.sh", "slow.sh"]) await chmod(path.join(project.root, "scripts", name), 0o755);
    // Tasks made the way a user would: the scheduled time is the script's first argument.
    for (const [id, script] of [["report", "scripts/report.sh"], ["slow", "scripts/slow.sh"]]) {
      expect((await project.cli(["new", id!, "--script", script!, "--cron", "* * * * *", "--timeout", "60"])).code).toBe(0);
    }
    host = await project.start();
  });
  afterAll(async () => {
    await project.cleanup();
  });

  it("runs each past occurrence without a run once, oldest first, with trigger backfill, and nothing the second time", async () => {
    const from = minutesAgo(30);
    const to = minutesAgo(26);
    const dry = await project.cli(["backfill", "report", "--from", from, "--to", to, "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would run 5 occurrence(s) of report#run between ${from} and ${to}`);
    expect(dry.stdout.trim().split("\n").slice(1)).toEqual([0, 1, 2, 3, 4].map((i) => `  ${minutesAgo(30 - i)}`));
    expect((await history(project, "report")).filter((r) => r.trigger === "backfill")).toEqual([]);

    const done = await project.cli(["backfill", "report", "--from", from, "--to", to, "--max", "4"], 120_000);
    expect(done.stderr).toBe("");
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/backfill \S+: 4 occurrence\(s\) of report#run .*; more are left beyond --max 4/);
    expect(done.stdout).toMatch(/backfill \S+ done: 4 run\(s\), 0 failed, 0 already had a run/);
    const runs = (await history(project, "report")).filter((r) => r.trigger === "backfill").reverse();
    expect(runs.map((r) => r.scheduledFor)).toEqual([0, 1, 2, 3].map((i) => minutesAgo(30 - i)));
    expect(runs.every((r) => r.status === "success" && r.output.includes(`report for ${r.scheduledFor}`))).toBe(true);
    // One at a time: each started after the one before ended.
    for (let i = 1; i < runs.length; i++) expect(Date.parse(runs[i]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(runs[i - 1]!.finishedAt!));

    const rest = await project.cli(["backfill", "report#run", "--from", from, "--to", to]);
    expect(rest.stdout).toContain("1 occurrence(s) of report#run");
    expect(rest.stdout).toContain("; 4 already had a run");
    expect(rest.stdout).toMatch(/done: 1 run\(s\), 0 failed, 4 already had a run/);
    const none = await project.cli(["backfill", "report", "--from", from, "--to", to]);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain("0 occurrence(s)");
    expect(none.stdout).toContain("nothing to run: every occurrence of the range already has a run");
    expect(duplicateOccurrences(await history(project, "report"))).toEqual([]);
  });

  it("refuses what it cannot do, saying why", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["backfill", "nope", "--from", minutesAgo(10), "--to", minutesAgo(5)], /no task "nope"/],
      [["backfill", "report#other", "--from", minutesAgo(10), "--to", minutesAgo(5)], /has no schedule "other" \(it has: run\)/],
      [["backfill", "report", "--from", "last week", "--to", minutesAgo(5)], /--from "last week" is not an ISO date-time/],
      [["backfill", "report", "--from", minutesAgo(5), "--to", minutesAgo(10)], /ends before it starts/],
      [["backfill", "report", "--from", minutesAgo(10), "--to", minutesAgo(5), "--max", "20000"], /max must be a whole number from 1 to 10000/],
    ];
    for (const [args, message] of cases) {
      const result = await project.cli(args);
      expect(result.code, args.join(" ")).not.toBe(0);
      expect(result.stderr, args.join(" ")).toMatch(message);
    }
  });

  it("a backfill cut off by a host killed mid-run resumes in the next host without running any occurrence twice", async () => {
    const from = minutesAgo(40);
    const to = minutesAgo(35);
    // The command follows the backfill across the host's death and restart.
    const following = project.cli(["backfill", "slow", "--from", from, "--to", to], 170_000);
    await waitFor(async () => (await history(project, "slow")).filter((r) => r.trigger === "backfill" && r.status === "success").length >= 2, {
      timeoutMs: 60_000,
      what: "two backfill runs done",
    });
    await waitFor(async () => (await history(project, "slow")).some((r) => r.trigger === "backfill" && r.status === "running" && r.startedAt), {
      timeoutMs: 20_000,
      what: "a backfill run in flight",
    });
    await host.kill9();
    host = await project.start();
    const output = await following;
    expect(output.stdout).toContain("the host is not answering (restarting?); waiting for it to resume the backfill");
    expect(output.stdout).toMatch(/done: 5 run\(s\), 0 failed, 1 already had a run/);

    const runs = (await history(project, "slow")).filter((r) => r.trigger === "backfill");
    expect(duplicateOccurrences(runs)).toEqual([]);
    expect(runs.map((r) => r.scheduledFor).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => minutesAgo(40 - i)));
    expect(runs.filter((r) => r.status === "interrupted")).toHaveLength(1);
    expect(runs.filter((r) => r.status === "success")).toHaveLength(5);
    // This backfill's file, by its range: ids sort by the second they were made in, then at random, and
    // an earlier test's job may share that second.
    const dir = path.join(project.root, "data", "backfills");
    const jobs = await Promise.all((await readdir(dir)).map(async (name) => JSON.parse(await readFile(path.join(dir, name), "utf8")) as BackfillJob));
    const job = jobs.find((j) => j.taskId === "slow" && Date.parse(j.from) === Date.parse(from) && Date.parse(j.to) === Date.parse(to))!;
    expect(job.state).toBe("done");
    expect(job.done.map((s) => s.status).sort()).toEqual(["already-run", "success", "success", "success", "success", "success"].sort());
  }, 240_000);

  it("with no host, --dry-run plans from the task file and the ledger; a backfill itself asks for a host", async () => {
    expect(await host.stop()).toBe(0);
    const dry = await project.cli(["backfill", "report#run", "--from", minutesAgo(31), "--to", minutesAgo(29), "--dry-run"], 60_000);
    expect(dry.stderr).toBe("");
    expect(dry.code).toBe(0);
    // minutesAgo(30) and (29) ran in the first test; (31) did not.
    expect(dry.stdout).toContain(`would run 1 occurrence(s) of report#run between ${minutesAgo(31)} and ${minutesAgo(29)}; 2 already had a run`);
    expect(dry.stdout.trim().split("\n").slice(1)).toEqual([`  ${minutesAgo(31)}`]);
    const real = await project.cli(["backfill", "report", "--from", minutesAgo(31), "--to", minutesAgo(29)]);
    expect(real.code).toBe(1);
    expect(real.stderr).toContain("no host is running");
    expect(real.stderr).toContain("`--dry-run` works without one");
    expect((await history(project, "report")).filter((r) => r.scheduledFor === minutesAgo(31))).toEqual([]);
  }, 120_000);
});

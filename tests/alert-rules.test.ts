import { describe, expect, it } from "vitest";
import { AlertRules, type EndedRun, type RuleSettings } from "../runtime/alerts/alert-rules.ts";
import { PendingOccurrences } from "../runtime/alerts/pending-occurrences.ts";
import { ALERT_RULES } from "../runtime/config/alerts-options.ts";

/** The decisions are pure: a fake clock is just the numbers passed in. */
const MIN = 60_000;
const settings = (over: Partial<RuleSettings> = {}): RuleSettings => ({
  rules: ALERT_RULES,
  failureStreak: 3,
  slowFactor: 3,
  slowAfterSec: null,
  missedGraceSec: 60,
  repeatAfterSec: 3600,
  ...over,
});

let runId = 0;
const ended = (at: number, over: Partial<EndedRun> = {}): EndedRun => ({
  runId: ++runId,
  taskId: "backup",
  scheduleId: "backup#start",
  title: "Backup",
  status: "failure",
  trigger: "schedule",
  attempt: 1,
  retryCount: 0,
  startedAt: at - 1000,
  finishedAt: at,
  error: "Error: disk full\n    at x",
  ...over,
});
const rulesOf = (decisions: Array<{ rule: string }>) => decisions.map((d) => d.rule);

describe("failure", () => {
  it("fires after the last retry only, once per repeat_after, and again after a recovery", () => {
    const heldBack: string[] = [];
    const rules = new AlertRules(() => settings({ rules: ["failure", "recovered"] }), (rule) => heldBack.push(rule));
    expect(rules.runEnded(ended(0, { attempt: 1, retryCount: 2 }))).toEqual([]);
    expect(rules.runEnded(ended(1000, { attempt: 2, retryCount: 2, trigger: "retry" }))).toEqual([]);
    const first = rules.runEnded(ended(2000, { attempt: 3, retryCount: 2, trigger: "retry" }));
    expect(first).toEqual([
      expect.objectContaining({ rule: "failure", taskId: "backup", text: "Backup (backup#start) failed after 3 attempts: Error: disk full", at: 2000 }),
    ]);
    // Still failing: quiet until repeat_after has passed since the last alert.
    expect(rules.runEnded(ended(10 * MIN))).toEqual([]);
    expect(rules.runEnded(ended(60 * MIN + 1999))).toEqual([]);
    // Those two are counted as held back (for /metrics), not as alerts.
    expect(heldBack).toEqual(["failure", "failure"]);
    expect(rulesOf(rules.runEnded(ended(60 * MIN + 2000, { status: "timeout", error: "timed out after 300s" })))).toEqual(["failure"]);
    // Manual runs, interruptions and other tasks' runs are not this task's failure.
    expect(rules.runEnded(ended(61 * MIN, { trigger: "manual" }))).toEqual([]);
    expect(rules.runEnded(ended(61 * MIN, { status: "interrupted" }))).toEqual([]);
    // A recovery resets the limit: the next failure is a new incident.
    expect(rulesOf(rules.runEnded(ended(62 * MIN, { status: "success" })))).toEqual(["recovered"]);
    expect(rulesOf(rules.runEnded(ended(63 * MIN)))).toEqual(["failure"]);
  });

  it("is silent when the rule is off", () => {
    const heldBack: string[] = [];
    const rules = new AlertRules(() => settings({ rules: ["streak"] }), (rule) => heldBack.push(rule));
    expect(rules.runEnded(ended(0))).toEqual([]);
    expect(rules.runEnded(ended(1))).toEqual([]);
    // A rule that is off holds nothing back: there was nothing to send.
    expect(heldBack).toEqual([]);
  });
});

describe("streak", () => {
  it("fires at the N-th failure in a row, not before, not again within repeat_after; a success starts the count over", () => {
    const rules = new AlertRules(() => settings({ rules: ["streak"], failureStreak: 3, repeatAfterSec: 600 }));
    expect(rules.runEnded(ended(0))).toEqual([]);
    expect(rules.runEnded(ended(MIN))).toEqual([]);
    expect(rules.runEnded(ended(2 * MIN))).toEqual([expect.objectContaining({ rule: "streak", text: "Backup failed 3 times in a row; last: Error: disk full" })]);
    expect(rules.runEnded(ended(3 * MIN))).toEqual([]);
    expect(rules.runEnded(ended(11 * MIN))).toEqual([]);
    expect(rulesOf(rules.runEnded(ended(12 * MIN)))).toEqual(["streak"]); // 6 in a row, 10 min after the last
    rules.runEnded(ended(13 * MIN, { status: "success" }));
    expect(rules.runEnded(ended(14 * MIN))).toEqual([]);
    expect(rules.runEnded(ended(15 * MIN))).toEqual([]);
    expect(rulesOf(rules.runEnded(ended(16 * MIN)))).toEqual(["streak"]);
  });

  it("counts occurrences, not attempts: retries before the last do not add up", () => {
    const rules = new AlertRules(() => settings({ rules: ["streak"], failureStreak: 2 }));
    expect(rules.runEnded(ended(0, { attempt: 1, retryCount: 1 }))).toEqual([]);
    expect(rules.runEnded(ended(1, { attempt: 2, retryCount: 1 }))).toEqual([]);
    expect(rulesOf(rules.runEnded(ended(2, { attempt: 2, retryCount: 1 })))).toEqual(["streak"]);
  });
});

describe("recovered", () => {
  it("fires on the first success after a failure alert, and only then", () => {
    const rules = new AlertRules(() => settings({ rules: ["failure", "recovered"] }));
    expect(rules.runEnded(ended(0, { status: "success" }))).toEqual([]); // nothing to recover from
    rules.runEnded(ended(MIN));
    expect(rules.runEnded(ended(2 * MIN, { status: "success" }))).toEqual([
      expect.objectContaining({ rule: "recovered", text: "Backup (backup#start) recovered: it succeeded after failing" }),
    ]);
    expect(rules.runEnded(ended(3 * MIN, { status: "success" }))).toEqual([]);
  });

  it("does not fire when the failure itself was not alerted (rule off)", () => {
    const rules = new AlertRules(() => settings({ rules: ["recovered"] }));
    rules.runEnded(ended(0));
    expect(rules.runEnded(ended(MIN, { status: "success" }))).toEqual([]);
  });
});

describe("slow", () => {
  it("fires for a run over slow_factor × the median of the schedule's successes, once per repeat_after", () => {
    const rules = new AlertRules(() => settings({ rules: ["slow"], slowFactor: 3, repeatAfterSec: 3600 }));
    const ok = (at: number, ms: number) => rules.runEnded(ended(at, { status: "success", startedAt: at - ms }));
    // Fewer than 5 samples: no median, nothing is slow yet.
    for (let i = 0; i < 4; i++) expect(ok(i * MIN, i === 0 ? 100_000 : 1000)).toEqual([]);
    expect(ok(5 * MIN, 1000)).toEqual([]); // 5 samples now: median 1 s
    expect(ok(6 * MIN, 3000)).toEqual([]); // exactly 3×: not over
    expect(ok(7 * MIN, 3500)).toEqual([expect.objectContaining({ rule: "slow", text: expect.stringMatching(/^Backup \(backup#start\) took 3\.5s, 3\.5× its median of 1\.0s$/) })]);
    expect(ok(8 * MIN, 9000)).toEqual([]); // rate-limited
    expect(rulesOf(ok(68 * MIN, 9000))).toEqual(["slow"]);
  });

  it("does not fire for a short run that is slow only in proportion: it must also take a second more than its median", () => {
    const rules = new AlertRules(() => settings({ rules: ["slow"], slowFactor: 3 }));
    const ok = (at: number, ms: number) => rules.runEnded(ended(at, { status: "success", startedAt: at - ms }));
    for (let i = 0; i < 5; i++) expect(ok(i * MIN, 3)).toEqual([]); // median 3 ms
    expect(ok(5 * MIN, 12)).toEqual([]); // 4× the median, 9 ms more: a busy boundary, not news
    expect(ok(6 * MIN, 999)).toEqual([]);
    expect(ok(7 * MIN, 1003)).toEqual([expect.objectContaining({ text: expect.stringMatching(/ took 1\.0s, 334\.3× its median of 3 ms$/) })]);
  });

  it("fires over the absolute slow_after even without a median", () => {
    const rules = new AlertRules(() => settings({ rules: ["slow"], slowAfterSec: 30 }));
    expect(rules.runEnded(ended(0, { status: "success", startedAt: -30_000 }))).toEqual([]);
    expect(rules.runEnded(ended(MIN, { status: "success", startedAt: MIN - 31_000 }))).toEqual([
      expect.objectContaining({ rule: "slow", text: "Backup (backup#start) took 31s, over alerts.slow_after (30s)" }),
    ]);
  });
});

describe("missed", () => {
  const start = (scheduledFor: number, startedAt: number, trigger: "schedule" | "catch-up" | "manual" = "schedule") => ({
    runId: ++runId, taskId: "backup", scheduleId: "backup#start", title: "Backup", scheduledFor, startedAt, trigger,
  });

  it("fires for a start later than missed_grace, not for one within it, and a manual run never", () => {
    const rules = new AlertRules(() => settings({ rules: ["missed"], missedGraceSec: 60 }));
    expect(rules.runStarted(start(0, 60_000))).toEqual([]);
    expect(rules.runStarted(start(10 * MIN, 20 * MIN, "manual"))).toEqual([]);
    expect(rules.runStarted(start(MIN, 2 * MIN + 1, "catch-up"))).toEqual([
      expect.objectContaining({ rule: "missed", scheduledFor: MIN, text: expect.stringMatching(/at 1970-01-01T00:01:00\.000Z started 60s after its time \(missed_grace: 60s\)$/) }),
    ]);
  });

  it("skipped and missed occurrences alert once per repeat_after; the same occurrence never twice", () => {
    const rules = new AlertRules(() => settings({ rules: ["missed"], repeatAfterSec: 600 }));
    const miss = (scheduledFor: number, reason: "skipped" | "missed" | "overdue", detail?: string) =>
      ({ taskId: "backup", scheduleId: "backup#start", title: "Backup", scheduledFor, reason, detail });
    expect(rules.occurrenceMissed(miss(0, "skipped", "the previous run was still running (overlap: skip)"), 1000)).toEqual([
      expect.objectContaining({ rule: "missed", text: "Backup: the occurrence of backup#start at 1970-01-01T00:00:00.000Z was skipped: the previous run was still running (overlap: skip)" }),
    ]);
    expect(rules.occurrenceMissed(miss(MIN, "missed"), MIN)).toEqual([]); // within repeat_after
    expect(rulesOf(rules.occurrenceMissed(miss(11 * MIN, "overdue"), 13 * MIN))).toEqual(["missed"]);
    // The same occurrence again later (it started after all, late): not a second alert.
    expect(rules.runStarted(start(11 * MIN, 40 * MIN))).toEqual([]);
  });

  it("pending occurrences become overdue after the grace, unless they start or their task cannot run", () => {
    const pending = new PendingOccurrences();
    const occ = (scheduleId: string, taskId: string, scheduledFor: number) => ({ scheduleId, taskId, title: taskId, scheduledFor });
    pending.expect(occ("a#run", "a", MIN));
    pending.expect(occ("b#run", "b", MIN));
    pending.expect(occ("c#run", "c", MIN));
    pending.expect(occ("a#run", "a", MIN)); // seen again: still one
    const can = (taskId: string) => taskId !== "c";
    expect(pending.due(2 * MIN, 60_000, can)).toEqual([]);
    pending.settle("b#run", MIN);
    expect(pending.due(2 * MIN + 1, 60_000, can)).toEqual([{ ...occ("a#run", "a", MIN), reason: "overdue" }]);
    expect(pending.due(10 * MIN, 60_000, () => true)).toEqual([]); // c was dropped (paused), a taken
    pending.expect(occ("a#run", "a", MIN)); // already reported: not pending again
    expect(pending.due(10 * MIN, 60_000, () => true)).toEqual([]);
  });

  it("a task that reloads forgets what it expected (an edit may have moved its grid); the next sample expects anew", () => {
    const pending = new PendingOccurrences();
    const occ = (scheduleId: string, taskId: string, scheduledFor: number) => ({ scheduleId, taskId, title: taskId, scheduledFor });
    pending.expect(occ("rep#run", "rep", 30_000)); // every 30 s, then edited to every 20 s
    pending.expect(occ("other#run", "other", 30_000));
    pending.dropTask("rep");
    pending.expect(occ("rep#run", "rep", 40_000));
    expect(pending.due(2 * MIN, 60_000, () => true).map((p) => [p.scheduleId, p.scheduledFor])).toEqual([["other#run", 30_000], ["rep#run", 40_000]]);
  });
});

describe("error", () => {
  it("fires when a task becomes an error task, not while it stays one, and again after a fix (rate limit allowing)", () => {
    const rules = new AlertRules(() => settings({ rules: ["error"], repeatAfterSec: 600 }));
    expect(rules.taskLoaded("t", "T", null, 0)).toEqual([]);
    expect(rules.taskLoaded("t", "T", "tasks/t.ts:3: frontmatter field \"timeout\" must be a number", MIN)).toEqual([
      expect.objectContaining({ rule: "error", taskId: "t", text: 'T is an error task: tasks/t.ts:3: frontmatter field "timeout" must be a number' }),
    ]);
    expect(rules.taskLoaded("t", "T", "tasks/t.ts:3: frontmatter field \"timeout\" must be a number", 2 * MIN)).toEqual([]);
    expect(rules.taskLoaded("t", "T", null, 3 * MIN)).toEqual([]);
    expect(rules.taskLoaded("t", "T", "tasks/t.ts:9: Expected \";\"", 4 * MIN)).toEqual([]); // within repeat_after
    rules.taskLoaded("t", "T", null, 5 * MIN);
    expect(rulesOf(rules.taskLoaded("t", "T", "tasks/t.ts:9: Expected \";\"", 12 * MIN))).toEqual(["error"]);
  });
});

describe("streak across a restart", () => {
  it("counts the occurrences that failed since the last success in the history, once each (retries included)", () => {
    const rules = new AlertRules(() => settings({ rules: ["streak"] }));
    // Newest first, as the ledger lists them: two failed occurrences (one retried), a manual failure, then a success.
    const history = [
      { status: "failure", trigger: "retry", scheduledFor: 3 * MIN },
      { status: "failure", trigger: "schedule", scheduledFor: 3 * MIN },
      { status: "failure", trigger: "manual", scheduledFor: null },
      { status: "timeout", trigger: "schedule", scheduledFor: 2 * MIN },
      { status: "success", trigger: "schedule", scheduledFor: MIN },
      { status: "failure", trigger: "schedule", scheduledFor: 0 },
    ];
    rules.seedStreak("backup", history);
    expect(rulesOf(rules.runEnded(ended(4 * MIN)))).toEqual(["streak"]);
    expect(rules.runEnded(ended(4 * MIN, { taskId: "other", scheduleId: "other#go" }))).toEqual([]);
    // What this host counted already is not counted twice: the larger count stands.
    const fresh = new AlertRules(() => settings({ rules: ["streak"] }));
    fresh.runEnded(ended(MIN));
    fresh.runEnded(ended(2 * MIN));
    fresh.seedStreak("backup", [{ status: "failure", trigger: "schedule", scheduledFor: 2 * MIN }]);
    expect(rulesOf(fresh.runEnded(ended(3 * MIN)))).toEqual(["streak"]);
  });
});

describe("rate limits are per task and rule", () => {
  it("one task's alert does not hold back another's, nor another rule's", () => {
    const rules = new AlertRules(() => settings({ rules: ["failure", "streak"], failureStreak: 2 }));
    expect(rulesOf(rules.runEnded(ended(0)))).toEqual(["failure"]);
    expect(rulesOf(rules.runEnded(ended(1, { taskId: "other", scheduleId: "other#go" })))).toEqual(["failure"]);
    expect(rulesOf(rules.runEnded(ended(2)))).toEqual(["streak"]);
  });
});

describe("a restart", () => {
  it("carries the alerts already sent over: rate limits, the failure to recover from, the error already reported", () => {
    const rules = new AlertRules(() => settings({ rules: ALERT_RULES, repeatAfterSec: 3600 }));
    rules.restore([
      // newest first, as the alert log lists them
      { taskId: "backup", event: "failure", at: 50 * MIN, text: "Backup (backup#start) failed: Error: disk full" },
      { taskId: "backup", event: "recovered", at: 40 * MIN, text: "…" },
      { taskId: "t", event: "error", at: 45 * MIN, text: 'T is an error task: tasks/t.ts:3: bad "timeout"' },
    ]);
    expect(rules.runEnded(ended(60 * MIN))).toEqual([]); // failure sent 10 min ago, by the last host
    expect(rulesOf(rules.runEnded(ended(61 * MIN, { status: "success" })))).toEqual(["recovered"]);
    expect(rules.taskLoaded("t", "T", 'tasks/t.ts:3: bad "timeout"', 200 * MIN)).toEqual([]); // the same error as reported, however long ago
    expect(rules.taskLoaded("u", "U", "tasks/u.ts:1: broken", 62 * MIN).map((d) => d.rule)).toEqual(["error"]);
  });

  it("after a recovery the last host alerted, a failure is a new incident and alerts at once, as without the restart", () => {
    const rules = new AlertRules(() => settings({ rules: ALERT_RULES, repeatAfterSec: 3600 }));
    rules.restore([
      { taskId: "backup", event: "recovered", at: 20 * MIN, text: "…" },
      { taskId: "backup", event: "streak", at: 15 * MIN, text: "…" },
      { taskId: "backup", event: "failure", at: 10 * MIN, text: "…" },
    ]);
    expect(rulesOf(rules.runEnded(ended(30 * MIN)))).toEqual(["failure"]);
    // And that failure opens an incident: the next is rate-limited again.
    expect(rulesOf(rules.runEnded(ended(31 * MIN)))).toEqual([]);
  });
});

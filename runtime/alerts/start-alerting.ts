import type { AlertRow, Ledger, RunRow } from "../store/ledger.ts";
import { systemClock, type Clock, type HostLog, type RunEndInfo, type RunEventInfo } from "../scheduler/scheduler-types.ts";
import { HostMetrics, type HostFigures } from "../metrics/host-metrics.ts";
import { AlertRules, type AlertDecision, type MissedOccurrence } from "./alert-rules.ts";
import { AlertChannels, IMPLICIT_DESKTOP } from "./alert-channels.ts";
import type { AlertMessage } from "./alert-message.ts";
import type { ResolvedAlertsOptions } from "../config/alerts-options.ts";
import type { ChannelHealth, DeliveryOptions } from "./delivery-queue.ts";
import { PendingOccurrences } from "./pending-occurrences.ts";
import { sendPing } from "./send-ping.ts";
import { startHostHeartbeat } from "./host-heartbeat.ts";
import { FleetDecisions, type DecisionFacts } from "./fleet-decisions.ts";
import { RateLimit } from "./rate-limit.ts";
import { isCode } from "../errors.ts";
import { metricsSourceOf, type AlertingCatalog, type AlertingScheduler, type AlertingTask, type OccurrenceMissedInfo, type RunSkippedInfo } from "./alerting-ports.ts";

/** RunEndInfo, with the scheduler's word on whether a retry follows where it gives one. */
type EndedRunInfo = RunEndInfo & { retryAt?: number | null };

/** Where alerts are kept (the ledger's recordAlert/claimAlert/listAlerts), and the runs of an occurrence (was it run, on any host?). */
export type AlertStore = Pick<Ledger, "recordAlert" | "claimAlert" | "listAlerts" | "listRunsBetween">;

export interface AlertingOptions {
  scheduler: AlertingScheduler;
  catalog: AlertingCatalog;
  store: AlertStore;
  /** The host's start, restart count and ledger, for the Prometheus metrics (while config().metrics.enabled); null: never any. */
  metrics: HostFigures | null;
  /** Whether the host can reach its ledger (a fleet's database may be away): the heartbeat_url is pinged only while it can. */
  ledgerReachable?(): boolean;
  /** Other hosts write the ledger too (database.url): decisions read their runs and alerts first. */
  sharedLedger?: boolean;
  config(): { alerts: ResolvedAlertsOptions; notifications: { notifyOnFailure: boolean }; metrics?: { enabled: boolean } };
  host: { id: string; hostname: string };
  /** The dashboard's base URL (links in alerts), when one runs. */
  dashboardUrl(): string | null;
  /** A run as `history --json` prints it. */
  runJson(run: RunRow): Record<string, unknown>;
  /** The task's recent runs, newest first (seeds the median durations and the last success). */
  recentRuns(taskId: string): Promise<RunRow[]>;
  log: HostLog;
  clock?: Clock;
  /** Tests shorten the backoff. */
  delivery?: Partial<DeliveryOptions>;
  /** How often pending occurrences are checked (ms). */
  watchIntervalMs?: number;
}

export interface Alerting {
  /** The Prometheus metrics these events feed (null while metrics.enabled is false). */
  readonly metrics: HostMetrics | null;
  /** Each channel's health, for `status` and the dashboard. */
  channels(): ChannelHealth[];
  /** Per task, the channels its frontmatter's `alerts:` lists that alerts.channels does not define. */
  unknownChannels(): Map<string, string[]>;
  listAlerts(options?: { limit?: number; taskId?: string }): Promise<AlertRow[]>;
  /** A config reload: channels rebuilt where they changed; metrics made (counters from zero, each task's last success from its history) or dropped. */
  configure(): void;
  /** Resolves once every queue is empty (tests). */
  idle(): Promise<void>;
  close(): void;
}

/**
 * The one place alerting meets the host: subscribes to the scheduler's and the
 * catalog's events, asks the rules (alert-rules.ts) what they call for, records
 * each alert and hands it to its channels' outboxes, pings the tasks' ping_url
 * and the host's heartbeat_url, and counts everything for /metrics. Nothing
 * here is awaited by the scheduler: every handler returns at once.
 */
export function startAlerting(options: AlertingOptions): Alerting {
  const { scheduler, catalog, log } = options;
  const entries = () => [...catalog.entries.values()];
  const makeMetrics = (figures: HostFigures) => new HostMetrics(metricsSourceOf(catalog, scheduler), figures);
  const metricsWanted = () => options.metrics != null && options.config().metrics?.enabled === true;
  let metrics = metricsWanted() ? makeMetrics(options.metrics!) : null;
  const lastSuccessOf = (runs: RunRow[]) => runs.find((r) => r.status === "success" && r.finishedAt != null)?.finishedAt ?? null;
  const clock = options.clock ?? systemClock;
  const alertsConfig = () => options.config().alerts;
  const rules = new AlertRules(alertsConfig, (rule) => metrics?.alertHeldBack(rule));
  const pending = new PendingOccurrences();
  const seeded = new Set<string>();
  const fleet = new FleetDecisions({ shared: options.sharedLedger === true, rules, store: options.store, recentRuns: (taskId) => options.recentRuns(taskId), failed: (what) => failed(what) });
  const channels = new AlertChannels(() => alertsConfig().smtp, {
    log,
    onAttempt: (channel, ok) => metrics?.delivery(channel.name, ok),
    ...options.delivery,
  });
  const configure = () => channels.configure(alertsConfig().channels, options.config().notifications.notifyOnFailure || anyTaskNotifies());
  const anyTaskNotifies = () => [...catalog.entries.values()].some((e) => e.loaded?.meta.notifyOnFailure === true);
  configure();
  const warnedUnknown = new Set<string>();
  const said = new RateLimit();
  const failed = (what: string) => (error: unknown) => {
    // A fleet's database away fails every read of each check: said every 30 s, not each time.
    if (!isCode(error, "ERR_DB_UNREACHABLE") || said.take("unreachable", Date.now(), 30_000)) log.error({ event: "alert.error", err: error }, `alerting: ${what}: ${String(error)}`);
  };

  const titleOf = (taskId: string) => catalog.get(taskId)?.title ?? taskId;
  const metaOf = (taskId: string) => catalog.get(taskId)?.loaded?.meta;

  /** The channels an alert of this task goes to: its frontmatter's list, else every channel (desktop for failures under notify_on_failure). */
  const channelsFor = (decision: AlertDecision): string[] => {
    const meta = metaOf(decision.taskId);
    const configured = alertsConfig().channels.map((c) => c.name);
    const names = [...(meta?.alerts ?? configured)];
    for (const name of names) {
      if (channels.has(name) || warnedUnknown.has(`${decision.taskId}\0${name}`)) continue;
      warnedUnknown.add(`${decision.taskId}\0${name}`);
      log.warn({ event: "alert.unknown_channel", taskId: decision.taskId, channel: name }, `task ${decision.taskId} lists alert channel "${name}", which alerts.channels does not define`);
    }
    const notify = meta?.notifyOnFailure ?? options.config().notifications.notifyOnFailure;
    if (decision.rule === "failure" && notify && !names.includes(IMPLICIT_DESKTOP) && !configured.includes(IMPLICIT_DESKTOP)) names.push(IMPLICIT_DESKTOP);
    return names;
  };

  /**
   * Hands the alert to its channels and records it; resolves once recorded (the next decision
   * about the task reads it). After a read of a shared ledger (`facts`), the ledger decides first:
   * another host may have raised this very alert since (both saw the missed occurrence, or the
   * broken file), and then this host sends nothing. A ledger that cannot record does not hold an alert back.
   */
  const raise = (decision: AlertDecision, run: RunRow | null, facts?: DecisionFacts): Promise<unknown> => {
    const title = titleOf(decision.taskId);
    const to = channelsFor(decision).filter((name) => channels.has(name));
    const row = {
      at: decision.at,
      event: decision.rule,
      taskId: decision.taskId,
      title,
      scheduleId: decision.scheduleId,
      runId: decision.runId,
      scheduledFor: decision.scheduledFor,
      text: decision.text,
      channels: to,
      host: options.host.id,
    };
    const send = () => {
      const base = options.dashboardUrl();
      const message: AlertMessage = {
        event: decision.rule,
        text: decision.text,
        task: { id: decision.taskId, title },
        run: run ? options.runJson(run) : null,
        host: options.host,
        links: base ? { dashboard: base, task: `${base.replace(/\/$/, "")}/#/task/${encodeURIComponent(decision.taskId)}` } : {},
        at: new Date(decision.at).toISOString(),
      };
      const sent = channels.send(to, message);
      metrics?.alertRaised(decision.rule);
      log.info({ event: "alert.raised", rule: decision.rule, taskId: decision.taskId, channels: sent }, `alert ${decision.rule}: ${decision.text}`);
    };
    const seenUpTo = facts?.alertsSeenUpTo;
    if (seenUpTo == null) {
      send();
      return options.store.recordAlert(row).catch(failed("recording an alert"));
    }
    return options.store.claimAlert(row, seenUpTo).then(
      (claimed) => {
        if (claimed) send();
        else log.debug({ event: "alert.raised_elsewhere", rule: decision.rule, taskId: decision.taskId }, `alert ${decision.rule} of ${decision.taskId}: another host raised it`);
      },
      (error: unknown) => {
        failed("recording an alert")(error);
        send();
      },
    );
  };

  const rowOf = (run: RunEventInfo, end?: Partial<RunEndInfo> & { startedAt?: number | null }): RunRow => ({
    id: run.runId,
    taskId: run.taskId,
    scheduleId: run.scheduleId,
    scheduledFor: run.scheduledFor,
    startedAt: end?.startedAt ?? null,
    finishedAt: end?.finishedAt ?? null,
    status: end?.status ?? "running",
    attempt: run.attempt,
    trigger: run.trigger,
    error: end?.error ?? null,
    output: end?.output ?? "",
    host: options.host.id,
    coversFrom: null,
    coversCount: null,
  });

  const ping = (taskId: string, kind: "start" | "success" | "fail", runId: number, body?: string) => {
    const url = metaOf(taskId)?.pingUrl;
    if (url) void sendPing(url, kind, log, { taskId, runId }, body).catch(failed("a ping"));
  };

  /** The task's recent history: the median durations and the last success survive a restart. */
  const seed = (taskId: string) => {
    if (seeded.has(taskId)) return;
    seeded.add(taskId);
    options
      .recentRuns(taskId)
      .then((runs) => {
        const bySchedule = new Map<string, number[]>();
        for (const r of [...runs].reverse()) {
          if (r.status !== "success" || r.startedAt == null || r.finishedAt == null || r.scheduleId == null || r.trigger === "manual") continue;
          bySchedule.set(r.scheduleId, [...(bySchedule.get(r.scheduleId) ?? []), r.finishedAt - r.startedAt]);
        }
        for (const [id, durations] of bySchedule) rules.durations.seed(id, durations);
        rules.seedStreak(taskId, runs);
        const lastOk = lastSuccessOf(runs);
        if (lastOk != null) metrics?.lastSucceeded(taskId, lastOk);
      })
      .catch(failed(`reading the history of ${taskId}`));
  };

  const onStart = (run: RunEventInfo & { startedAt: number }) => {
    pending.settle(run.scheduleId, run.scheduledFor);
    metrics?.runStarted(run.taskId, run.trigger === "manual" || run.trigger === "backfill" ? null : run.startedAt - run.scheduledFor);
    ping(run.taskId, "start", run.runId);
    // Only a late start is news: an on-time one just settles its occurrence, without a ledger read.
    if (!rules.startMayAlert(run)) return fleet.inOrder(run.taskId, () => void rules.runStarted({ ...run, title: titleOf(run.taskId) }));
    fleet.decide(run.taskId, {}, (facts) =>
      rules.runStarted({ ...run, title: titleOf(run.taskId) }).map((d) => {
        metrics?.occurrenceMissed(run.taskId);
        return raise(d, rowOf(run, { startedAt: run.startedAt }), facts);
      }),
    );
  };

  const onEnd = (run: EndedRunInfo) => {
    const durationMs = run.startedAt == null ? null : run.finishedAt - run.startedAt;
    metrics?.runEnded(run.taskId, run.status, durationMs, run.finishedAt);
    const retryCount = metaOf(run.taskId)?.retryCount ?? 0;
    const retryFollows = run.retryAt === undefined ? run.trigger !== "manual" && run.attempt <= retryCount : run.retryAt !== null;
    if (run.status === "success") ping(run.taskId, "success", run.runId);
    else if ((run.status === "failure" || run.status === "timeout") && !retryFollows) {
      ping(run.taskId, "fail", run.runId, [run.error ?? run.status, "", run.output].join("\n"));
    }
    const ended = { ...run, title: titleOf(run.taskId), retryCount, retryFollows };
    // Manual and backfill runs, attempts a retry follows, and runs skipped or interrupted never alert: no ledger read for them.
    if (!rules.endMayAlert(ended)) return fleet.inOrder(run.taskId, () => void rules.runEnded(ended));
    // The streak and repeat_after are the fleet's: read from the ledger before deciding.
    fleet.decide(run.taskId, { runId: run.runId, streak: true }, (facts) => rules.runEnded(ended).map((d) => raise(d, rowOf(run, run), facts)));
  };

  const onMissed = (miss: MissedOccurrence, count = 1) => {
    pending.settle(miss.scheduleId, miss.scheduledFor);
    metrics?.occurrenceMissed(miss.taskId, count);
    const now = clock.now();
    fleet.decide(miss.taskId, {}, (facts) => rules.occurrenceMissed(miss, now).map((d) => raise(d, null, facts)));
  };
  const onSkipped = (run: RunSkippedInfo) => {
    // Its task file was removed: nothing to alert about, and no series left to count it in.
    if (run.code === "removed") return pending.settle(run.scheduleId, run.scheduledFor);
    metrics?.occurrenceSkipped(run.taskId);
    // Missed while down or asleep: occurrence.missed reports those, once for the lot.
    if (run.code === "missed") return pending.settle(run.scheduleId, run.scheduledFor);
    onMissed({ ...run, title: titleOf(run.taskId), reason: "skipped", detail: run.reason.replace(/^skipped: /, "") });
  };
  const onOccurrenceMissed = (miss: OccurrenceMissedInfo) => {
    // A short outage is not a miss: the catch-up starts within missed_grace of every occurrence it
    // stands for, as a run held up that long would (a deploy's restart must not page for each task).
    if (miss.policy !== "skip" && clock.now() - miss.first <= alertsConfig().missedGraceSec * 1000) return;
    const n = `${miss.count}${miss.countIsFloor ? "+" : ""}`;
    const detail = `${n} occurrence(s) passed while the host was ${miss.cause === "asleep" ? "asleep or stalled" : "down"}`;
    onMissed({ taskId: miss.taskId, scheduleId: miss.scheduleId, scheduledFor: miss.first, title: titleOf(miss.taskId), reason: "missed", detail }, miss.count);
  };

  const onChanged = (entry: AlertingTask) => {
    if (entry.loaded) seed(entry.id);
    // Reloaded (an edit may move its schedule's grid): what it expected next may be no occurrence now.
    pending.dropTask(entry.id);
    // A task asking for desktop notifications of failures needs that channel.
    if (entry.loaded?.meta.notifyOnFailure && !channels.has(IMPLICIT_DESKTOP)) configure();
    const now = clock.now();
    // A load error is seen by every host that loads the task: one of them alerts within repeat_after.
    if (entry.error == null) fleet.inOrder(entry.id, () => void rules.taskLoaded(entry.id, entry.title, null, now));
    else fleet.decide(entry.id, {}, (facts) => rules.taskLoaded(entry.id, entry.title, entry.error, now).map((d) => raise(d, null, facts)));
  };
  const onRemoved = (id: string) => {
    fleet.inOrder(id, () => rules.taskRemoved(id));
    metrics?.forgetTask(id);
    seeded.delete(id);
  };

  /** The overdue side of "missed": next occurrences that have not started within the grace. */
  const schedulable = (taskId: string, scheduleId: string) => {
    const entry = catalog.get(taskId);
    return !!entry?.loaded?.meta.enabled && !scheduler.isPaused(taskId) && entry.loaded.schedules.some((s) => s.id === scheduleId);
  };
  const watch = () => {
    const now = clock.now();
    for (const entry of catalog.entries.values()) {
      if (!entry.loaded) continue;
      for (const s of entry.loaded.schedules) {
        const next = scheduler.nextRunOf(s.id);
        // Only occurrences about to come: a stale next run (paused, just loaded) is not this host's miss.
        if (next != null && next <= now + 60_000 && next >= now - 5_000 && schedulable(entry.id, s.id)) {
          pending.expect({ taskId: entry.id, scheduleId: s.id, title: entry.title, scheduledFor: next });
        }
      }
    }
    // This host expected these; another host may have claimed and run them (the ledger says), and
    // another may have alerted one already (the rules adopt the ledger's missed alerts).
    for (const miss of pending.due(now, alertsConfig().missedGraceSec * 1000, schedulable)) {
      fleet.decide(miss.taskId, { occurrence: miss }, (facts) => {
        if (facts.occurrenceTaken) return [];
        // The ledger could not say whether another host ran it (its database is away): looked at
        // again at the next check, rather than alerting a miss that may not be one.
        if (facts.occurrenceTaken === null) {
          pending.recheck(miss);
          return [];
        }
        metrics?.occurrenceMissed(miss.taskId);
        return rules.occurrenceMissed(miss, now).map((d) => raise(d, null, facts));
      });
    }
  };
  const watchTimer = setInterval(() => {
    try {
      watch();
    } catch (error) {
      failed("checking for overdue occurrences")(error);
    }
  }, options.watchIntervalMs ?? 5000);
  watchTimer.unref();

  scheduler.on("run.start", onStart);
  scheduler.on("run.end", onEnd);
  scheduler.on("run.skipped", onSkipped);
  scheduler.on("occurrence.missed", onOccurrenceMissed);
  catalog.on("entry.changed", onChanged);
  catalog.on("entry.removed", onRemoved);
  // What the last host already sent counts (a restart must not repeat it); then the tasks as loaded now.
  void options.store
    .listAlerts({ limit: 500 })
    .then((sent) => rules.restore(sent), failed("reading the alerts sent before"))
    .then(() => {
      if (!closed) for (const entry of catalog.entries.values()) onChanged(entry);
    });
  let closed = false;
  // A host cut off from its ledger runs nothing: its silence is what tells the monitor.
  const stopHeartbeat = startHostHeartbeat({ url: () => alertsConfig().heartbeatUrl, alive: () => !closed && (options.ledgerReachable?.() ?? true), log });
  const switchMetrics = () => {
    if (!metricsWanted()) metrics = null;
    else if (!metrics) {
      const made = (metrics = makeMetrics(options.metrics!));
      for (const { id } of entries()) {
        options
          .recentRuns(id)
          .then((runs) => {
            const at = lastSuccessOf(runs);
            if (at != null) made.lastSucceeded(id, at);
          })
          .catch(failed(`reading the history of ${id}`));
      }
    }
  };
  return {
    get metrics() {
      return metrics;
    },
    channels: () => channels.health(),
    unknownChannels: () => {
      const out = new Map<string, string[]>();
      for (const entry of entries()) {
        const unknown = (entry.loaded?.meta.alerts ?? []).filter((name) => !channels.has(name));
        if (unknown.length) out.set(entry.id, unknown);
      }
      return out;
    },
    listAlerts: (o) => options.store.listAlerts(o),
    configure: () => {
      configure();
      switchMetrics();
    },
    idle: async () => {
      await fleet.idle();
      await channels.idle();
    },
    close: () => {
      if (closed) return;
      closed = true;
      fleet.close();
      stopHeartbeat();
      clearInterval(watchTimer);
      scheduler.off("run.start", onStart);
      scheduler.off("run.end", onEnd);
      scheduler.off("run.skipped", onSkipped);
      scheduler.off("occurrence.missed", onOccurrenceMissed);
      catalog.off("entry.changed", onChanged);
      catalog.off("entry.removed", onRemoved);
      channels.close();
    },
  };
}

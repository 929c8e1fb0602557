// The taskhost dashboard: plain JavaScript, no build step. Data from the JSON API
// (/api/...), kept live by the event stream (/api/events). Every text goes into
// the page as a text node, never as HTML.
import { api, badge, confirmDialog, durationOf, fmtDateTime, fmtDuration, fmtSpan, fmtTime, h, logout, svg, taskHash, taskPath, toast } from "./dom.js";
import { hostBanners } from "./host-banners.js";

const state = {
  status: null, // GET /api/status: { host, tasks }
  running: new Map(), // taskId -> run.start data
  live: false,
  view: { taskId: null, runs: [], nextBefore: null, open: new Set(), loadedFor: null },
};

// ---- small helpers -------------------------------------------------------

const countdown = (iso) => h("span", { class: "countdown", "data-next": iso }, relative(iso));
const ago = (iso) => h("span", { "data-ago": iso, title: iso ? new Date(iso).toLocaleString() : null }, agoText(iso));

function relative(iso) {
  if (!iso) return "–";
  const ms = Date.parse(iso) - Date.now();
  return ms > 500 ? `in ${fmtSpan(ms)}` : "due now";
}
function agoText(iso) {
  return iso ? `${fmtSpan(Date.now() - Date.parse(iso))} ago` : "";
}

function tick() {
  for (const el of document.querySelectorAll("[data-next]")) el.textContent = relative(el.dataset.next);
  for (const el of document.querySelectorAll("[data-ago]")) el.textContent = agoText(el.dataset.ago);
  renderHealth();
}

// ---- actions -------------------------------------------------------------

async function runNow(task) {
  if (!(await confirmDialog(`Run "${task.title}" now?`, "Run now"))) return;
  try {
    await api(`${taskPath(task.id)}/run`, { method: "POST" });
    toast(`Started ${task.title}`);
  } catch (error) {
    toast(`Could not run ${task.title}: ${error.message}`, true);
  }
}

async function setPaused(task, paused) {
  try {
    await api(`${taskPath(task.id)}/${paused ? "pause" : "resume"}`, { method: "POST" });
    toast(`${paused ? "Paused" : "Resumed"} ${task.title}`);
    await refresh();
  } catch (error) {
    toast(error.message, true);
  }
}

async function resetSchedule(schedule) {
  if (!(await confirmDialog(`Recompute the next run of ${schedule.id} on the aligned grid from now? Missed occurrences are dropped.`, "Reset"))) return;
  try {
    const [reset] = await api(`/api/schedules/${encodeURIComponent(schedule.id)}/reset`, { method: "POST" });
    toast(`Next run: ${fmtTime(reset.after)}`);
    await refresh();
  } catch (error) {
    toast(error.message, true);
  }
}

function actionButtons(task, { small = true } = {}) {
  const cls = small ? "small" : "";
  const canRun = task.state !== "error" && task.state !== "installing";
  return [
    h("button", { class: `${cls} primary`, type: "button", disabled: !canRun, onclick: () => runNow(task), "data-action": "run" }, "Run now"),
    task.state === "paused"
      ? h("button", { class: cls, type: "button", onclick: () => setPaused(task, false), "data-action": "resume" }, "Resume")
      : h("button", { class: cls, type: "button", disabled: task.state === "error", onclick: () => setPaused(task, true), "data-action": "pause" }, "Pause"),
  ];
}

// ---- the task list ---------------------------------------------------------

function lastRunOf(task) {
  // A task with no schedule (manual) has its own: no schedule's shows it.
  let last = task.lastRun ?? null;
  for (const s of task.schedules) if (s.lastRun && (!last || (s.lastRun.startedAt || "") > (last.startedAt || ""))) last = s.lastRun;
  return last;
}
function nextRunOf(task) {
  const next = task.schedules.map((s) => s.nextRun).filter(Boolean).sort();
  return task.state === "paused" || task.state === "disabled" ? null : next[0] || null;
}

function stateBadge(task) {
  return state.running.has(task.id) ? badge("running") : badge(task.state);
}

function lastRunCell(task) {
  const last = lastRunOf(task);
  if (!last) return [h("span", { class: "muted" }, "never")];
  return [badge(last.status), " ", h("span", { class: "num" }, fmtDuration(durationOf(last))), h("span", { class: "when" }, ago(last.startedAt || last.scheduledFor))];
}

function renderList(view) {
  const tasks = state.status.tasks;
  const count = (pred) => tasks.filter(pred).length;
  const failing = count((t) => lastRunOf(t)?.status === "failure" || lastRunOf(t)?.status === "timeout");
  view.append(
    h("div", { class: "summary" },
      h("div", { class: "count" }, h("b", {}, tasks.length), h("span", {}, "tasks")),
      h("div", { class: "count" }, h("b", {}, state.running.size), h("span", {}, "running now")),
      h("div", { class: "count" }, h("b", {}, count((t) => t.state === "paused")), h("span", {}, "paused")),
      h("div", { class: "count" }, h("b", {}, failing), h("span", {}, "last run failed")),
      h("div", { class: "count" }, h("b", {}, count((t) => t.state === "error")), h("span", {}, "with errors")),
    ),
  );
  const rows = tasks.map((task) => {
    const next = nextRunOf(task);
    return h("article", { class: "task-row", "data-task": task.id },
      h("div", { class: "title" }, h("a", { href: taskHash(task.id) }, task.title), h("span", { class: "id" }, task.id)),
      h("div", { class: "state" }, stateBadge(task)),
      h("div", { class: "cell schedule-cell" }, h("span", { class: "cell-label" }, "Schedule"),
        h("div", {}, task.schedules.length ? task.schedules.map((s) => h("span", { class: "sched" }, s.spec)) : h("span", { class: "muted" }, "none"))),
      h("div", { class: "cell next-cell" }, h("span", { class: "cell-label" }, "Next run"),
        next ? h("div", {}, countdown(next), h("span", { class: "when" }, fmtTime(next))) : h("span", { class: "muted" }, task.state === "paused" ? "paused" : "–")),
      h("div", { class: "cell last-cell" }, h("span", { class: "cell-label" }, "Last run"), h("div", {}, lastRunCell(task))),
      h("div", { class: "actions" }, actionButtons(task)),
      task.error ? h("pre", { class: "error-text err" }, task.error) : null,
      task.warnings?.length ? h("pre", { class: "warning-text" }, task.warnings.join("\n")) : null,
    );
  });
  view.append(
    h("section", { class: "panel tasks" },
      h("div", { class: "task-row head" }, h("div", {}, "Task"), h("div", {}, "State"), h("div", {}, "Schedule"), h("div", {}, "Next run"), h("div", {}, "Last run"), h("div", {})),
      rows.length ? rows : h("div", { class: "empty" }, "No tasks yet: drop a .ts file into tasks/."),
    ),
  );
  renderAlerts(view);
}

// Recent alerts and the alert channels' health (GET /api/alerts).
function renderAlerts(view) {
  const { alerts = [], channels = [] } = state.alerts || {};
  const kind = { failure: "failure", streak: "failure", error: "error", recovered: "success", slow: "timeout", missed: "timeout" };
  view.append(
    h("section", { class: "panel alerts" },
      h("div", { class: "panel-head" }, h("b", {}, "Alerts"),
        h("div", { class: "channels" }, channels.length === 0 ? h("span", { class: "muted" }, "no channels (alerts.channels)") :
          channels.map((c) => h("span", { class: "channel", title: c.lastError ? `last error: ${c.lastError}` : `${c.sent} sent` },
            badge(c.state === "ok" ? "ok" : "failing", c.state === "ok" ? "success" : "failure"), ` ${c.name} (${c.type})`,
            c.queued ? h("span", { class: "muted" }, ` ${c.queued} waiting`) : null)))),
      alerts.length === 0 ? h("div", { class: "empty" }, "No alerts yet.") :
        h("ul", { class: "alert-list" }, alerts.slice(0, 20).map((a) => h("li", {},
          badge(a.event, kind[a.event] || a.event), " ",
          h("a", { href: taskHash(a.taskId) }, a.title), " ",
          h("span", {}, a.text), " ",
          h("span", { class: "when" }, ago(a.at)),
          a.channels.length ? h("span", { class: "muted" }, ` → ${a.channels.join(", ")}`) : null))),
    ),
  );
}

// ---- one task ----------------------------------------------------------------

function durationChart(runs) {
  const points = runs.filter((r) => durationOf(r) != null).slice(0, 60).reverse();
  if (points.length === 0) return h("div", { class: "empty" }, "No finished runs yet.");
  const W = 600, H = 150, left = 44, bottom = 18, top = 8;
  const max = Math.max(...points.map(durationOf), 1);
  const slot = (W - left - 4) / Math.max(points.length, 12);
  const bars = points.map((run, i) => {
    const d = durationOf(run);
    const bh = Math.max(2, (d / max) * (H - top - bottom));
    return svg("rect", { class: `bar ${run.status}`, x: (left + i * slot + slot * 0.15).toFixed(1), y: (H - bottom - bh).toFixed(1), width: (slot * 0.7).toFixed(1), height: bh.toFixed(1), rx: 2 },
      svg("title", {}, `#${run.id} ${run.status} · ${fmtDuration(d)} · ${fmtTime(run.startedAt)}`));
  });
  const first = points[0], last = points[points.length - 1];
  return svg("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img", "aria-label": "Run durations, oldest to newest" },
    svg("line", { class: "axis", x1: left, x2: W, y1: H - bottom, y2: H - bottom }),
    svg("line", { class: "axis", x1: left, x2: W, y1: top, y2: top, "stroke-dasharray": "3 3" }),
    svg("text", { x: left - 6, y: top + 4, "text-anchor": "end" }, fmtDuration(max)),
    svg("text", { x: left - 6, y: H - bottom, "text-anchor": "end" }, "0"),
    svg("text", { x: left, y: H - 4 }, fmtTime(first.startedAt)),
    svg("text", { x: W - 2, y: H - 4, "text-anchor": "end" }, fmtTime(last.startedAt)),
    bars,
  );
}

function runRows(run) {
  const open = state.view.open.has(run.id);
  const toggle = () => {
    if (state.view.open.has(run.id)) state.view.open.delete(run.id);
    else state.view.open.add(run.id);
    render();
  };
  const rows = [
    h("tr", { class: `run${open ? " open" : ""}`, "data-run": run.id, "data-status": run.status, onclick: toggle },
      h("td", { class: "num" }, `#${run.id}`),
      h("td", {}, badge(run.status)),
      h("td", {}, run.trigger, run.attempt > 1 ? ` (attempt ${run.attempt})` : ""),
      h("td", { class: "num" }, fmtDateTime(run.scheduledFor)),
      h("td", { class: "num" }, fmtDateTime(run.startedAt)),
      h("td", { class: "num" }, run.status === "running" ? "…" : fmtDuration(durationOf(run))),
    ),
  ];
  if (open) {
    rows.push(
      h("tr", { class: "details", "data-run-details": run.id },
        h("td", { colspan: 6 },
          run.error ? [h("h4", {}, "Error"), h("pre", { class: "error-text run-error" }, run.error)] : null,
          h("h4", {}, "Output ", h("a", { class: "small", href: `/api/runs/${run.id}/log`, target: "_blank", "data-full-log": run.id }, "full log")),
          h("pre", { class: "output" }, run.output ? run.output : run.status === "running" ? "(still running)" : "(no output)"),
        ),
      ),
    );
  }
  return rows;
}

function renderTask(view, task) {
  const runs = state.view.runs;
  const finished = runs.filter((r) => r.status !== "running" && r.status !== "skipped");
  const ok = finished.filter((r) => r.status === "success").length;
  const durations = finished.map(durationOf).filter((d) => d != null).sort((a, b) => a - b);
  view.append(
    h("div", { class: "crumbs" }, h("a", { href: "#/" }, "← All tasks")),
    h("div", { class: "task-head" },
      h("div", {},
        h("h2", {}, task.title, " ", stateBadge(task)),
        h("div", { class: "meta mono" }, task.id, " · ", task.file),
      ),
      h("div", { class: "buttons" }, actionButtons(task, { small: false }), h("a", { class: "button", href: `/edit?task=${encodeURIComponent(task.id)}`, "data-action": "edit" }, "Edit"), task.schedules.length ? h("a", { class: "button", href: `/backfill?task=${encodeURIComponent(task.id)}`, "data-action": "backfill" }, "Backfill…") : null),
    ),
    task.error ? h("pre", { class: "error-text task-error" }, task.error) : "",
    task.warnings?.length ? h("pre", { class: "warning-text task-error" }, task.warnings.join("\n")) : "",
    h("div", { class: "grid-2" },
      h("section", { class: "panel" },
        h("div", { class: "panel-head" }, h("h3", {}, "Schedules")),
        h("div", { class: "panel-body" },
          task.schedules.length === 0 ? h("div", { class: "muted" }, "No schedules (runs only when started by hand).") : null,
          task.schedules.map((s) =>
            h("div", { class: "schedule" },
              h("div", {}, h("b", {}, s.spec), h("div", { class: "muted small mono" }, s.id)),
              h("div", {},
                s.nextRun && task.state !== "paused" ? [countdown(s.nextRun), h("span", { class: "when" }, fmtTime(s.nextRun))] : h("span", { class: "muted" }, task.state === "paused" ? "paused" : "no next run"),
                task.state !== "error" ? h("button", { class: "small link", type: "button", onclick: () => resetSchedule(s), title: "Recompute the next run from now" }, "reset") : null,
              ),
            ),
          ),
          h("div", { class: "stats" },
            h("div", {}, h("b", {}, finished.length ? `${Math.round((ok / finished.length) * 100)}%` : "–"), h("span", {}, `success (last ${finished.length})`)),
            h("div", {}, h("b", {}, durations.length ? fmtDuration(durations[Math.floor(durations.length / 2)]) : "–"), h("span", {}, "median duration")),
            h("div", {}, h("b", {}, durations.length ? fmtDuration(durations[durations.length - 1]) : "–"), h("span", {}, "longest")),
          ),
        ),
      ),
      h("section", { class: "panel" },
        h("div", { class: "panel-head" }, h("h3", {}, "Durations"), h("span", { class: "muted small" }, "newest on the right")),
        h("div", { class: "panel-body" }, durationChart(runs)),
      ),
    ),
    h("section", { class: "panel" },
      h("div", { class: "panel-head" }, h("h3", {}, "Runs"), h("span", { class: "muted small" }, "click a run for its output")),
      runs.length === 0
        ? h("div", { class: "empty" }, "No runs recorded yet.")
        : h("table", { class: "runs" },
            h("thead", {}, h("tr", {}, h("th", {}, "Run"), h("th", {}, "Status"), h("th", {}, "Trigger"), h("th", {}, "Scheduled for"), h("th", {}, "Started"), h("th", {}, "Duration"))),
            h("tbody", {}, runs.map(runRows)),
          ),
      state.view.nextBefore ? h("div", { class: "more" }, h("button", { type: "button", onclick: loadOlder }, "Load older runs")) : null,
    ),
  );
}

async function loadRuns(taskId) {
  // The newest page, as long as what is shown (so live updates keep older pages in view).
  const limit = Math.min(Math.max(state.view.loadedFor === taskId ? state.view.runs.length : 0, 50), 200);
  const page = await api(`${taskPath(taskId)}/runs?limit=${limit}`);
  if (state.view.taskId !== taskId) return;
  const running = [...state.running.values()].filter((r) => r.taskId === taskId && !page.runs.some((p) => p.id === r.id));
  state.view.runs = [...running, ...page.runs];
  state.view.nextBefore = page.nextBefore;
  state.view.loadedFor = taskId;
}

async function loadOlder() {
  const { taskId, nextBefore } = state.view;
  const page = await api(`${taskPath(taskId)}/runs?limit=50&before=${nextBefore}`);
  state.view.runs.push(...page.runs);
  state.view.nextBefore = page.nextBefore;
  render();
}

// ---- rendering, routing, live updates -------------------------------------

function renderHealth() {
  const el = document.getElementById("health");
  const host = state.status?.host;
  el.replaceChildren(
    host ? h("span", {}, "up ", h("b", {}, fmtSpan((host.uptimeSec ?? 0) * 1000 + (Date.now() - state.statusAt)))) : null,
    host ? h("span", {}, "RSS ", h("b", {}, `${host.rssMb} MB`)) : null,
    host ? h("span", {}, "restarts ", h("b", {}, host.restarts)) : null,
    host ? h("span", {}, "pid ", h("b", {}, host.pid)) : null,
    h("span", { class: `live${state.live ? " on" : ""}`, title: "event stream" }, state.live ? "live" : "reconnecting"),
    h("button", { class: "small", type: "button", onclick: logout }, "Log out"),
  );
}

function render() {
  const view = document.getElementById("view");
  const scroll = window.scrollY;
  view.replaceChildren();
  if (!state.status) {
    view.append(h("p", { class: "muted" }, "Loading…"));
    return;
  }
  view.append(...hostBanners(state.status.host));
  const taskId = state.view.taskId;
  if (taskId == null) {
    document.title = "taskhost";
    renderList(view);
  } else {
    const task = state.status.tasks.find((t) => t.id === taskId);
    if (!task) {
      view.append(h("div", { class: "crumbs" }, h("a", { href: "#/" }, "← All tasks")), h("div", { class: "panel empty" }, `No task "${taskId}" on this host.`));
    } else {
      document.title = `${task.title} · taskhost`;
      renderTask(view, task);
    }
  }
  renderHealth();
  window.scrollTo(0, scroll);
}

async function refresh() {
  const [status, alerts] = await Promise.all([api("/api/status"), api("/api/alerts?limit=20").catch(() => null)]);
  state.status = status;
  state.alerts = alerts;
  state.statusAt = Date.now();
  if (state.view.taskId != null && status.tasks.some((t) => t.id === state.view.taskId)) await loadRuns(state.view.taskId);
  render();
}

let refreshTimer = null;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => refresh().catch((error) => toast(error.message, true)), 150);
}

async function route() {
  const match = /^#\/task\/(.+)$/.exec(location.hash);
  const taskId = match ? decodeURIComponent(match[1]) : null;
  if (taskId !== state.view.taskId) state.view = { taskId, runs: [], nextBefore: null, open: new Set(), loadedFor: null };
  render();
  await refresh();
  window.scrollTo(0, 0);
}

function connect() {
  const source = new EventSource("/api/events");
  source.addEventListener("ready", () => {
    state.live = true;
    refreshSoon();
  });
  source.addEventListener("run.start", (event) => {
    const run = JSON.parse(event.data);
    state.running.set(run.taskId, run);
    if (run.taskId === state.view.taskId && !state.view.runs.some((r) => r.id === run.id)) state.view.runs.unshift(run);
    render();
  });
  source.addEventListener("run.end", (event) => {
    const run = JSON.parse(event.data);
    if (state.running.get(run.taskId)?.id === run.id) state.running.delete(run.taskId);
    if (run.taskId === state.view.taskId) {
      const i = state.view.runs.findIndex((r) => r.id === run.id);
      if (i >= 0) state.view.runs[i] = run;
      else state.view.runs.unshift(run);
    }
    render();
    refreshSoon();
  });
  for (const name of ["task.reloaded", "task.changed", "task.removed"]) source.addEventListener(name, refreshSoon);
  source.onerror = () => {
    state.live = false;
    renderHealth();
    // EventSource retries on its own; a 401 (logged out elsewhere) ends it for good.
    if (source.readyState === EventSource.CLOSED) setTimeout(() => api("/api/session").then(connect, () => {}), 3000);
  };
}

window.addEventListener("hashchange", () => route().catch((error) => toast(error.message, true)));
route().catch((error) => toast(error.message, true));
connect();
setInterval(tick, 1000);
// A slow safety net: schedules' next runs move on even when no event came (paused tasks, edits).
setInterval(refreshSoon, 30_000);

// The timeline (/timeline): a day or a week of runs, one row per task, each run a
// block coloured by its status; occurrences still to come drawn (dashed) ahead
// of now, past occurrences that never ran drawn hatched. A click on a run opens it.
import { api, badge, durationOf, fmtDuration, h, taskHash, toast } from "./dom.js";
import { markNav } from "./task-form.js";

const STATUSES = ["success", "failure", "timeout", "interrupted", "skipped", "running"];
const params = new URLSearchParams(location.search);
const state = {
  view: params.get("view") === "week" ? "week" : "day",
  anchor: params.get("date") ? new Date(`${params.get("date")}T00:00`) : new Date(),
  task: params.get("task") ?? "",
  data: null,
  tasks: [],
  open: null,
};

function startOfDay(d) {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate());
}
/** [from, to) of the span shown, in local days (a DST day is 23 or 25 hours long). */
function span() {
  const day = startOfDay(state.anchor);
  if (state.view === "day") return [day, new Date(day.getFullYear(), day.getMonth(), day.getDate() + 1)];
  const monday = new Date(day.getFullYear(), day.getMonth(), day.getDate() - ((day.getDay() + 6) % 7));
  return [monday, new Date(monday.getFullYear(), monday.getMonth(), monday.getDate() + 7)];
}
function shift(direction) {
  const d = state.anchor;
  state.anchor = new Date(d.getFullYear(), d.getMonth(), d.getDate() + direction * (state.view === "day" ? 1 : 7));
  load();
}

const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: "short", month: "short", day: "numeric" });
const hourFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fullFmt = new Intl.DateTimeFormat(undefined, { weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
const fmt = (iso) => (iso ? fullFmt.format(new Date(iso)) : "–");

function ticks(from, to) {
  const out = [];
  if (state.view === "day") {
    for (let t = new Date(from); t < to; t = new Date(t.getFullYear(), t.getMonth(), t.getDate(), t.getHours() + 1)) {
      out.push({ at: t, label: t.getHours() % 3 === 0 ? hourFmt.format(t) : "", day: t.getHours() === 0 });
    }
  } else {
    for (let t = new Date(from); t < to; t = new Date(t.getFullYear(), t.getMonth(), t.getDate(), t.getHours() + 6)) {
      out.push({ at: t, label: t.getHours() === 0 ? dayFmt.format(t) : "", day: t.getHours() === 0 });
    }
  }
  return out;
}

/** Instants (sorted) grouped where each is within `gap` of the one before: one band for a dense schedule. */
function clusters(instants, gap) {
  const groups = [];
  for (const at of instants.sort((a, b) => a - b)) {
    const last = groups.at(-1);
    if (last && at - last.at(-1) <= gap) last.push(at);
    else groups.push([at]);
  }
  return groups;
}

function render() {
  markNav("timeline");
  const [from, to] = span();
  const total = to - from;
  const pos = (ms) => `${(((ms - from) / total) * 100).toFixed(4)}%`;
  const width = (ms) => `${((Math.max(0, ms) / total) * 100).toFixed(4)}%`;
  const data = state.data;
  const now = data ? Date.parse(data.now) : Date.now();
  const ids = new Set(state.tasks.filter((t) => !state.task || t.id === state.task).map((t) => t.id));
  for (const run of data?.runs ?? []) ids.add(run.taskId);
  const title = (id) => state.tasks.find((t) => t.id === id)?.title ?? id;
  const axis = h("div", { class: "tl-row tl-axis" }, h("div", { class: "tl-label" }, ""),
    h("div", { class: "tl-track" }, ticks(from, to).map((t) => h("div", { class: `tl-tick${t.day ? " day" : ""}`, style: { left: pos(t.at) } }, t.label ? h("span", {}, t.label) : null))));
  const rows = [...ids].sort((a, b) => title(a).localeCompare(title(b))).map((id) => {
    const blocks = [];
    const series = (kind, list, what) => {
      for (const group of clusters(list.filter((o) => o.taskId === id).map((o) => Date.parse(o.at)), total / 400)) {
        const first = new Date(group[0]).toISOString();
        const last = new Date(group.at(-1)).toISOString();
        const text = group.length === 1 ? `${what}: ${fmt(first)}` : `${what}: ${group.length} occurrences, ${fmt(first)} – ${fmt(last)}`;
        blocks.push(h("span", { class: `block ${kind}`, style: { left: pos(group[0]), width: width(group.at(-1) - group[0]) }, title: text, [`data-${kind}`]: first }));
      }
    };
    series("missed", data?.missed ?? [], "missed (no run recorded)");
    series("upcoming", data?.upcoming ?? [], "next");
    for (const run of (data?.runs ?? []).filter((r) => r.taskId === id)) {
      // At the occurrence it stands for (a backfill run too), as long as it ran.
      const start = Date.parse(run.scheduledFor ?? run.startedAt ?? run.finishedAt);
      const ran = run.startedAt ? (run.finishedAt ? Date.parse(run.finishedAt) : now) - Date.parse(run.startedAt) : 0;
      const end = start + Math.max(0, ran);
      const left = Math.max(start, +from);
      blocks.push(h("button", {
        type: "button", class: `block run ${run.status}`, "data-run": run.id, "data-status": run.status,
        style: { left: pos(left), width: width(Math.min(end, +to) - left) },
        title: `#${run.id} ${run.status} · ${run.trigger} · ${fmt(run.scheduledFor ?? run.startedAt)}${run.finishedAt && run.startedAt ? ` · ${fmtDuration(durationOf(run))}` : ""}`,
        onclick: () => openRun(run.id),
      }));
    }
    return h("div", { class: "tl-row", "data-row": id },
      h("div", { class: "tl-label", title: id }, h("a", { href: taskHash(id) }, title(id)), h("span", { class: "id" }, id)),
      h("div", { class: "tl-track" }, now >= from && now < to ? h("div", { class: "tl-now", style: { left: pos(now) } }) : null, blocks));
  });
  const label = state.view === "day" ? dayFmt.format(from) : `${dayFmt.format(from)} – ${dayFmt.format(new Date(+to - 1))}`;
  const seg = (view, text) => h("button", { type: "button", class: `small${state.view === view ? " on" : ""}`, "data-view": view, onclick: () => { state.view = view; load(); } }, text);
  document.getElementById("view").replaceChildren(
    h("div", { class: "tl-controls" },
      h("span", { class: "seg" }, seg("day", "Day"), " ", seg("week", "Week")),
      h("button", { type: "button", class: "small", "data-nav-step": "-1", onclick: () => shift(-1), "aria-label": "earlier" }, "◀"),
      h("button", { type: "button", class: "small", onclick: () => { state.anchor = new Date(); load(); } }, "Today"),
      h("button", { type: "button", class: "small", "data-nav-step": "1", onclick: () => shift(1), "aria-label": "later" }, "▶"),
      h("span", { class: "title", id: "span-title" }, label),
      h("select", { "aria-label": "task", onchange: (e) => { state.task = e.target.value; load(); } },
        h("option", { value: "" }, "All tasks"), state.tasks.map((t) => h("option", { value: t.id, selected: t.id === state.task }, t.title))),
      h("div", { class: "legend" }, [...STATUSES, "upcoming", "missed"].map((s) => h("span", {}, h("i", { class: s }), s)))),
    h("section", { class: "panel timeline" }, h("div", { class: "tl-grid" }, axis,
      rows.length ? rows : h("div", { class: "empty" }, "No tasks."))),
    data?.truncated ? h("p", { class: "muted small" }, "Some schedules have more occurrences in this span than are drawn.") : "",
    state.open ? runPanel(state.open) : "",
  );
}

function runPanel(run) {
  const row = (label, value) => [h("dt", {}, label), h("dd", {}, value)];
  return h("section", { class: "panel run-panel", id: "run-panel", "data-run": run.id },
    h("div", { class: "panel-head" }, h("h3", {}, `Run #${run.id} of ${run.taskId}`),
      h("span", {}, h("a", { href: taskHash(run.taskId) }, "Open the task"), " · ", h("a", { href: `/api/runs/${run.id}/log`, target: "_blank", "data-full-log": run.id }, "Full log"), " · ",
        h("button", { class: "small link", type: "button", onclick: () => { state.open = null; render(); } }, "close"))),
    h("div", { class: "panel-body" },
      h("dl", {}, row("Status", badge(run.status)), row("Trigger", run.attempt > 1 ? `${run.trigger} (attempt ${run.attempt})` : run.trigger),
        row("Scheduled for", fmt(run.scheduledFor)), row("Started", fmt(run.startedAt)), row("Finished", fmt(run.finishedAt)), row("Duration", fmtDuration(durationOf(run)))),
      run.error ? [h("h4", {}, "Error"), h("pre", { class: "error-text run-error" }, run.error)] : null,
      h("h4", {}, "Output"), h("pre", { class: "output" }, run.output || "(no output)")));
}

async function openRun(id) {
  try {
    state.open = await api(`/api/runs/${id}`);
    render();
    document.getElementById("run-panel")?.scrollIntoView({ block: "nearest" });
  } catch (error) {
    toast(error.message, true);
  }
}

let loading = 0;
async function load() {
  const mine = ++loading;
  const [from, to] = span();
  const query = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), ...(state.task ? { task: state.task } : {}) });
  const a = state.anchor;
  const date = `${a.getFullYear()}-${String(a.getMonth() + 1).padStart(2, "0")}-${String(a.getDate()).padStart(2, "0")}`;
  history.replaceState(null, "", `/timeline?${new URLSearchParams({ view: state.view, date, ...(state.task ? { task: state.task } : {}) })}`);
  try {
    const [status, data] = await Promise.all([api("/api/status"), api(`/api/timeline?${query}`)]);
    if (mine !== loading) return;
    state.tasks = status.tasks;
    state.data = data;
    render();
  } catch (error) {
    toast(error.message, true);
  }
}

// At most one reload every two seconds, however busy the event stream is.
let reloadTimer = null;
const reloadSoon = () => {
  reloadTimer ??= setTimeout(() => {
    reloadTimer = null;
    load();
  }, 2000);
};
const events = new EventSource("/api/events");
for (const name of ["run.start", "run.end", "task.reloaded", "task.removed", "task.changed"]) events.addEventListener(name, reloadSoon);
setInterval(load, 60_000);
load();

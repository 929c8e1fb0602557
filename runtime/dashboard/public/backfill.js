// The backfill page (/backfill?task=<id>): pick a schedule and a past range,
// preview the occurrences that have no run, start the backfill and watch it go
// (one run at a time, oldest first), or cancel it.
import { api, badge, confirmDialog, h, taskHash, taskPath, toast } from "./dom.js";
import { clearErrors, field, input, markNav, showError } from "./task-form.js";

const taskId = new URLSearchParams(location.search).get("task") ?? "";
let watching = null;

function stepsTable(job) {
  if (job.done.length === 0) return h("div", { class: "muted" }, job.state === "running" ? "Starting…" : "Nothing ran.");
  return h("table", { class: "runs" },
    h("thead", {}, h("tr", {}, h("th", {}, "Occurrence"), h("th", {}, "Status"), h("th", {}, "Run"))),
    h("tbody", {}, job.done.map((step) => h("tr", { "data-step": step.at },
      h("td", { class: "num" }, new Date(step.at).toLocaleString()),
      h("td", {}, badge(step.status === "already-run" ? "already run" : step.status, step.status), step.error ? h("div", { class: "muted small" }, step.error.split("\n")[0]) : null),
      h("td", {}, step.runId == null ? "–" : h("a", { href: `/api/runs/${step.runId}/log`, target: "_blank" }, `#${step.runId}`))))));
}

function jobPanel(job) {
  const left = job.planned.length - job.done.length;
  return h("section", { class: "panel", id: "backfill-job", "data-state": job.state },
    h("div", { class: "panel-head" },
      h("h3", {}, `Backfill ${job.id}`),
      h("span", {}, badge(job.state), " ",
        job.state === "running" ? h("button", { class: "small", type: "button", "data-action": "cancel", onclick: () => cancel(job) }, "Cancel") : null)),
    h("div", { class: "panel-body" },
      h("p", { class: "muted" }, `${job.scheduleId}: ${job.done.length} of ${job.planned.length} done${left && job.state === "running" ? `, ${left} to go` : ""} · range ${new Date(job.from).toLocaleString()} – ${new Date(job.to).toLocaleString()}`,
        job.alreadyRun ? ` · ${job.alreadyRun} already had a run` : "", job.pruned && job.planned.length ? ` · ${job.pruned} older than the kept history, not run` : "", job.more ? ` · more left beyond ${job.max}` : "", job.note && job.state === "failed" ? ` · ${job.note}` : ""),
      h("progress", { max: Math.max(1, job.planned.length), value: job.done.length }),
      stepsTable(job)));
}

async function cancel(job) {
  if (!(await confirmDialog(`Cancel backfill ${job.id}? The run in flight finishes; no further one starts.`, "Cancel backfill"))) return;
  await api(`/api/backfills/${job.id}/cancel`, { method: "POST" }).catch((error) => toast(error.message, true));
}

function watch(job, slot) {
  clearInterval(watching);
  slot.replaceChildren(jobPanel(job));
  if (job.state !== "running") return;
  watching = setInterval(async () => {
    try {
      const now = await api(`/api/backfills/${job.id}`);
      slot.replaceChildren(jobPanel(now));
      if (now.state !== "running") {
        clearInterval(watching);
        toast(`Backfill ${now.state}`);
      }
    } catch (error) {
      toast(error.message, true);
    }
  }, 1000);
}

function preview(job) {
  return h("section", { class: "panel", id: "backfill-preview" },
    h("div", { class: "panel-head" }, h("h3", {}, "Would run"), h("span", { class: "muted small" }, `${job.planned.length} occurrence(s)${job.alreadyRun ? `, ${job.alreadyRun} already had a run` : ""}${job.pruned && job.planned.length ? `, ${job.pruned} older than the kept history (database.history_per_task) not run: they may have run` : ""}${job.more ? `, more beyond ${job.max}` : ""}`)),
    h("div", { class: "panel-body preview" }, job.planned.length
      ? h("ol", {}, job.planned.map((at) => h("li", { title: at }, new Date(at).toLocaleString())))
      : h("div", { class: "muted" }, job.note ? `Nothing to run: ${job.note}.` : "Nothing to run.")));
}

async function render() {
  markNav("");
  const view = document.getElementById("view");
  const task = await api(taskPath(taskId));
  const schedules = task.schedules ?? [];
  const form = h("form", { id: "backfill-form", novalidate: true });
  const slot = h("div", { id: "backfill-slot" });
  const now = new Date();
  const dayAgo = new Date(now.getTime() - 24 * 3600_000);
  const iso = (d) => d.toISOString().replace(/\.\d+Z$/, "Z");
  const target = h("select", { id: "f-target", name: "target" }, schedules.map((s) => h("option", { value: s.id }, `${s.spec}  (${s.id})`)));
  form.append(
    h("section", { class: "panel" }, h("div", { class: "panel-head" }, h("h3", {}, "Range")),
      h("div", { class: "panel-body fields" },
        field("Schedule", target, { wide: true }),
        field("From", input("from", iso(dayAgo)), { hint: "ISO date-time; without an offset it is read in the schedule's zone" }),
        field("To", input("to", iso(now)), { hint: "inclusive; occurrences still to come are left to the scheduler" }),
        field("At most", input("max", "100", { inputmode: "numeric" }), { hint: "runs, oldest first" }))),
    h("div", { class: "form-actions" },
      h("div", { class: "field-error form-error", "data-error-for": "form", hidden: true }),
      h("a", { href: taskHash(taskId) }, "Back to the task"),
      h("button", { type: "button", "data-action": "preview", onclick: () => submit(true) }, "Preview"),
      h("button", { class: "primary", type: "submit", "data-action": "start" }, "Start backfill")));
  const submit = async (dryRun) => {
    clearErrors(form);
    const value = (name) => form.querySelector(`[name="${name}"]`).value.trim();
    try {
      const job = await api("/api/backfills", { method: "POST", json: { target: target.value, from: value("from"), to: value("to"), max: Number(value("max")) || undefined, dryRun } });
      if (dryRun) slot.replaceChildren(preview(job));
      else watch(job, slot);
    } catch (error) {
      showError(form, error);
    }
  };
  form.addEventListener("submit", (event) => (event.preventDefault(), submit(false)));
  view.replaceChildren(
    h("div", { class: "crumbs" }, h("a", { href: taskHash(taskId) }, `← ${task.title ?? taskId}`)),
    h("div", { class: "task-head" }, h("div", {}, h("h2", {}, "Backfill ", task.title ?? taskId),
      h("div", { class: "meta" }, "Runs each past occurrence of the range that has no recorded run, one at a time, oldest first (trigger backfill)."))),
    schedules.length ? form : h("div", { class: "panel empty" }, "This task has no schedule to backfill."),
    slot);
  const recent = await api(`/api/backfills?task=${encodeURIComponent(taskId)}`);
  const running = recent.find((job) => job.state === "running");
  if (running) watch(running, slot);
  else if (recent[0]) slot.replaceChildren(jobPanel(recent[0]));
}

render().catch((error) => toast(error.message, true));

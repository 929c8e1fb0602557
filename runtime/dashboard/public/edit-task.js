// The edit page of one task (/edit?task=<id>): its settings and schedules,
// written back into the file in place (comments and code kept), and the file's
// source. A save names the version the page loaded: if the file changed on
// disk meanwhile, it is refused and nothing is lost.
import { api, confirmDialog, h, taskHash, toast } from "./dom.js";
import { clearErrors, markNav, schedulePreview, settingsFields, settingsValues, showError } from "./task-form.js";

/** Form field -> frontmatter field. */
const FRONTMATTER = {
  title: "title", description: "description", timezone: "timezone", start: "start_date", end: "end_date",
  timeout: "timeout", retries: "retry_count", retryDelay: "retry_delay", overlap: "overlap", catchUp: "catch_up", enabled: "enabled",
};
const NUMERIC = new Set(["timeout", "retries", "retryDelay"]);

const taskId = new URLSearchParams(location.search).get("task") ?? "";
let doc = null;

/** The file's values under the form's names, as text for the boxes. */
function formValues(fields) {
  const out = {};
  for (const [name, key] of Object.entries(FRONTMATTER)) {
    const value = fields?.[key];
    out[name] = name === "enabled" ? value : value == null ? "" : String(value);
  }
  return out;
}

/** What the form changed, as frontmatter fields (null: take the field out, the default applies). */
function changedFields(form) {
  const was = formValues(doc.fields);
  const now = settingsValues(form);
  const fields = {};
  for (const [name, key] of Object.entries(FRONTMATTER)) {
    if (name === "enabled") {
      if ((was.enabled !== false) !== now.enabled) fields[key] = now.enabled ? null : false;
      continue;
    }
    if (now[name] === was[name]) continue;
    fields[key] = now[name] === "" ? null : NUMERIC.has(name) && /^-?\d+(\.\d+)?$/.test(now[name]) ? Number(now[name]) : now[name];
  }
  return fields;
}

/** One editor per schedule decorator; `refreshers` gets each one's preview refresh, run once the form is built. */
function scheduleEditors(form, refreshers) {
  if (doc.schedules.length === 0) return [h("div", { class: "muted" }, "No schedule decorator: the task runs only when started by hand.")];
  return doc.schedules.map((s) => {
    const slot = `schedule:${s.key}`;
    const preview = schedulePreview(form, slot);
    const box = h("input", { name: slot, value: s.expression, autocomplete: "off", disabled: s.text == null, "data-schedule": s.key });
    const refresh = () => {
      const settings = settingsValues(form);
      preview.update({ schedule: box.value, timezone: settings.timezone, start: settings.start, end: settings.end });
    };
    box.addEventListener("input", refresh);
    form.addEventListener("change", refresh);
    if (s.text != null) refreshers.push(refresh);
    return h("div", { class: "schedule-edit" },
      h("div", { class: "key" }, `@${s.decorator} on ${s.key}`),
      box,
      h("div", { class: "hint muted small" }, s.text == null ? "written in a form this page does not edit: change it in the file" : 'every(5).minutes, every().day.at("09:00"), cron("0 9 * * 1-5"), once("2026-12-01T09:00")'),
      h("div", { class: "field-error", "data-error-for": slot, hidden: true }),
      preview.element);
  });
}

async function save(form) {
  clearErrors(form);
  const schedules = {};
  for (const box of form.querySelectorAll("[data-schedule]")) {
    const original = doc.schedules.find((s) => s.key === box.dataset.schedule);
    if (!box.disabled && box.value.trim() !== original.expression) schedules[box.dataset.schedule] = box.value.trim();
  }
  const fields = changedFields(form);
  if (Object.keys(fields).length === 0 && Object.keys(schedules).length === 0) {
    toast("Nothing changed");
    return;
  }
  try {
    doc = await api(`/api/authoring/task/edit?id=${encodeURIComponent(taskId)}`, { method: "POST", json: { version: doc.version, fields, schedules } });
    toast(`Saved ${doc.file}`);
    render();
  } catch (error) {
    if (error.status === 409) showConflict();
    showError(form, error);
  }
}

function showConflict() {
  document.getElementById("conflict").hidden = false;
}

async function remove() {
  if (!(await confirmDialog(`Delete ${doc.file}? It moves to tasks/.trash/ and can be restored from the New task page.`, "Delete"))) return;
  try {
    const trashed = await api(`/api/authoring/task/delete?id=${encodeURIComponent(taskId)}`, { method: "POST", json: { version: doc.version } });
    toast(`Moved to tasks/.trash/${trashed.name}`);
    location.href = "/new#trash";
  } catch (error) {
    if (error.status === 409) showConflict();
    toast(error.message, true);
  }
}

function render() {
  markNav("");
  const view = document.getElementById("view");
  document.title = `Edit ${doc.fields?.title ?? doc.id} · taskhost`;
  const form = h("form", { id: "edit-task", novalidate: true, onsubmit: (event) => (event.preventDefault(), save(form)) });
  const refreshers = [];
  form.append(
    h("div", { class: "banner", id: "conflict", hidden: true }, "The file changed on disk since this page loaded. ",
      h("button", { class: "small", type: "button", onclick: () => load() }, "Reload it"), " (your changes here are not kept)."),
    doc.fields == null ? h("pre", { class: "error-text" }, "The frontmatter cannot be read; fix the file by hand first.") : "",
    h("div", { class: "form-grid" },
      h("section", { class: "panel" }, h("div", { class: "panel-head" }, h("h3", {}, "Settings")), h("div", { class: "panel-body" }, settingsFields(formValues(doc.fields)))),
      h("section", { class: "panel" }, h("div", { class: "panel-head" }, h("h3", {}, "Schedules")), h("div", { class: "panel-body" }, scheduleEditors(form, refreshers)))),
    h("div", { class: "form-actions" },
      h("div", { class: "field-error form-error", "data-error-for": "form", hidden: true }),
      h("button", { type: "button", "data-action": "delete", onclick: remove }, "Delete…"),
      h("a", { href: taskHash(doc.id) }, "Back to the task"),
      h("button", { class: "primary", type: "submit", "data-action": "save", disabled: doc.fields == null }, "Save")),
  );
  view.replaceChildren(
    h("div", { class: "crumbs" }, h("a", { href: taskHash(doc.id) }, `← ${doc.fields?.title ?? doc.id}`)),
    h("div", { class: "task-head" }, h("div", {}, h("h2", {}, "Edit ", doc.fields?.title ?? doc.id), h("div", { class: "meta mono" }, doc.file))),
    form,
    h("section", { class: "panel" },
      h("div", { class: "panel-head" }, h("h3", {}, "Source"), h("span", { class: "muted small" }, doc.file)),
      h("div", { class: "panel-body" }, h("pre", { class: "source", id: "source" }, doc.source))),
  );
  for (const refresh of refreshers) refresh();
}

async function load() {
  try {
    doc = await api(`/api/authoring/task?id=${encodeURIComponent(taskId)}`);
    render();
  } catch (error) {
    document.getElementById("view").replaceChildren(h("div", { class: "panel empty" }, error.message));
  }
}

// Fields the form does not show (dependencies, node_version …) stay in the file as they are.
load();

// The new-task page: pick a script, a schedule (with its next runs computed by
// the host as you type), arguments and settings; the host writes tasks/<id>.ts
// and loads it. Below, the tasks deleted from the dashboard, to restore.
import { api, h, taskHash, toast } from "./dom.js";
import { clearErrors, field, input, markNav, schedulePreview, select, settingsFields, settingsValues, showError } from "./task-form.js";

const UNITS = [
  ["seconds", "seconds"], ["minutes", "minutes"], ["hours", "hours"], ["days", "days"],
  ["monday", "Monday"], ["tuesday", "Tuesday"], ["wednesday", "Wednesday"], ["thursday", "Thursday"],
  ["friday", "Friday"], ["saturday", "Saturday"], ["sunday", "Sunday"],
];

/** The schedule part of the request, as the server's form reads it. */
function scheduleRequest(form) {
  const kind = form.querySelector('[name="kind"]:checked').value;
  const value = (name) => form.querySelector(`[name="${name}"]`).value.trim();
  if (kind === "cron") return { cron: value("cron") };
  if (kind === "once") return { schedule: `once(${JSON.stringify(value("once"))})` };
  if (kind === "every") {
    const unit = value("unit");
    const weekday = !["seconds", "minutes", "hours", "days"].includes(unit);
    const n = weekday ? "" : `${value("n") || 1} `;
    return { every: `${n}${unit}${value("at") ? ` at ${value("at")}` : ""}` };
  }
  return {};
}

function scheduleSection(onChange) {
  const kinds = [["cron", "Cron"], ["every", "Every"], ["once", "Once"], ["none", "By hand only"]];
  const inputs = {
    cron: field("Cron expression", input("cron", "*/5 * * * *", { placeholder: "m h dom mon dow" }), { name: "schedule", hint: "5 fields, or 6 with seconds first: 0 9 * * 1-5 is 09:00 on weekdays" }),
    every: h("div", { class: "field", "data-field": "schedule" },
      h("label", {}, "Every"),
      h("div", { class: "every-row" }, input("n", "5", { inputmode: "numeric", "aria-label": "count" }), select("unit", UNITS, "minutes"), input("at", "", { placeholder: "at (09:00, :15)", "aria-label": "at" })),
      h("div", { class: "hint" }, "on the wall-clock grid: every 5 minutes runs at :00, :05, :10 …"),
      h("div", { class: "field-error", "data-error-for": "schedule", hidden: true })),
    once: field("Once, at", input("once", "", { placeholder: "2026-12-01T09:00" }), { name: "schedule", hint: "local time of the zone, or with an offset / Z" }),
    none: h("div", { class: "muted" }, "No schedule: it runs only when started (Run now, taskhost run, the webhook)."),
  };
  const box = h("div", {});
  const show = (kind) => {
    box.replaceChildren(inputs[kind]);
    onChange();
  };
  const radios = h("div", { class: "kinds" }, kinds.map(([value, label], i) =>
    h("label", {}, h("input", { type: "radio", name: "kind", value, checked: i === 0, onchange: () => show(value) }), label)));
  box.replaceChildren(inputs.cron);
  return [radios, box];
}

function trashPanel() {
  const body = h("div", { class: "panel-body" }, h("div", { class: "muted" }, "Loading…"));
  const load = async () => {
    const trash = await api("/api/authoring/trash");
    body.replaceChildren(...(trash.length === 0
      ? [h("div", { class: "muted" }, "Nothing deleted. Deleting a task moves its file to tasks/.trash/.")]
      : trash.map((t) => h("div", { class: "trash-row", "data-trash": t.name },
          h("div", {}, h("b", {}, t.id), h("div", { class: "muted small" }, `deleted ${new Date(t.deletedAt).toLocaleString()}`)),
          h("button", { class: "small", type: "button", "data-action": "restore", onclick: async () => {
            try {
              const doc = await api("/api/authoring/trash/restore", { method: "POST", json: { name: t.name } });
              toast(`Restored ${doc.file}`);
              await load();
            } catch (error) {
              toast(error.message, true);
            }
          } }, "Restore")))));
  };
  load().catch((error) => toast(error.message, true));
  return h("section", { class: "panel", id: "trash" }, h("div", { class: "panel-head" }, h("h3", {}, "Deleted tasks")), body);
}

async function render() {
  markNav("new");
  const view = document.getElementById("view");
  const { folders, scripts } = await api("/api/authoring/scripts");
  const form = h("form", { id: "new-task", novalidate: true });
  const preview = schedulePreview(form, "schedule");
  const scriptSelect = h("select", { id: "f-script", name: "script" },
    h("option", { value: "" }, scripts.length ? "— pick a script —" : `no script in ${folders.join(", ")}`),
    scripts.map((s) => h("option", { value: s.path }, `${s.path}  (${s.runner})`)));
  const id = input("id", "", { placeholder: "reports/nightly-export" });
  scriptSelect.addEventListener("change", () => {
    // A first guess at the id: the script's name.
    if (!id.value && scriptSelect.value) id.value = scriptSelect.value.split("/").at(-1).replace(/\.[^.]+$/, "").replace(/[^A-Za-z0-9_-]+/g, "-");
  });
  form.append(
    h("div", { class: "form-grid" },
      h("div", { class: "form-col" },
        h("section", { class: "panel" }, h("div", { class: "panel-head" }, h("h3", {}, "Script")),
          h("div", { class: "panel-body fields" },
            field("Script", scriptSelect, { wide: true, hint: `any executable, or .py .sh .js .ts, under ${folders.join(", ")}` }),
            field("Arguments", h("textarea", { id: "f-args", name: "args", placeholder: "one per line" }), { wide: true, hint: "the scheduled time (ISO 8601) is always the first argument" }),
            field("Task id", id, { wide: true, hint: "the file is tasks/<id>.ts" }))),
        h("section", { class: "panel" }, h("div", { class: "panel-head" }, h("h3", {}, "Settings")), h("div", { class: "panel-body" }, settingsFields()))),
      h("div", { class: "form-col" },
        h("section", { class: "panel" }, h("div", { class: "panel-head" }, h("h3", {}, "Schedule")),
          h("div", { class: "panel-body" }, scheduleSection(() => refreshPreview()))),
        h("section", { class: "panel" }, h("div", { class: "panel-head" }, h("h3", {}, "Next runs")), h("div", { class: "panel-body" }, preview.element)))),
    h("div", { class: "form-actions" },
      h("div", { class: "field-error form-error", "data-error-for": "form", hidden: true }),
      h("a", { href: "/#/" }, "Cancel"),
      h("button", { class: "primary", type: "submit", "data-action": "create" }, "Create task")),
  );
  function refreshPreview() {
    if (form.querySelector('[name="kind"]:checked')?.value === "none") return;
    const s = settingsValues(form);
    preview.update({ ...scheduleRequest(form), timezone: s.timezone, start: s.start, end: s.end });
  }
  form.addEventListener("input", (event) => {
    if (["cron", "n", "unit", "at", "once", "timezone", "start", "end"].includes(event.target.name)) refreshPreview();
  });
  form.addEventListener("change", refreshPreview);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const settings = settingsValues(form);
    const request = {
      id: id.value.trim(),
      script: scriptSelect.value,
      args: form.querySelector('[name="args"]').value.split("\n").map((a) => a.trim()).filter(Boolean),
      ...scheduleRequest(form),
      ...Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== "")),
    };
    const button = form.querySelector('[data-action="create"]');
    button.disabled = true;
    try {
      const doc = await api("/api/authoring/tasks", { method: "POST", json: request });
      toast(`Wrote ${doc.file}`);
      location.href = taskHash(doc.id);
    } catch (error) {
      showError(form, error);
    } finally {
      button.disabled = false;
    }
  });
  view.replaceChildren(h("div", { class: "task-head" }, h("h2", {}, "New task")), form, trashPanel());
  refreshPreview();
}

render().catch((error) => toast(error.message, true));

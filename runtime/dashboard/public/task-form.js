// Pieces shared by the new-task and edit pages: labelled fields with a place
// for the server's reason, the task settings, and the live preview of next runs
// (computed by the host with its own schedule maths, never in the browser).
import { api, h } from "./dom.js";

/** A labelled input; `name` is the form field the server names in its errors. */
export function field(label, input, { name = input.name, hint, wide = false } = {}) {
  return h("div", { class: `field${wide ? " wide" : ""}`, "data-field": name },
    h("label", { for: input.id || null }, label),
    input,
    hint ? h("div", { class: "hint" }, hint) : null,
    h("div", { class: "field-error", "data-error-for": name, hidden: true }),
  );
}

export function input(name, value = "", attrs = {}) {
  return h("input", { id: `f-${name}`, name, value: value ?? "", autocomplete: "off", ...attrs });
}

export function select(name, options, value) {
  return h("select", { id: `f-${name}`, name }, options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)));
}

/** Clears every shown reason. */
export function clearErrors(root) {
  for (const el of root.querySelectorAll("[data-error-for]")) el.hidden = true;
  for (const el of root.querySelectorAll(".invalid")) el.classList.remove("invalid");
}

/** Shows an API error beside its field (or in the form's general slot). */
export function showError(root, error, fallbackSlot = "form") {
  const slot = root.querySelector(`[data-error-for="${CSS.escape(error.field || fallbackSlot)}"]`) || root.querySelector(`[data-error-for="${fallbackSlot}"]`);
  if (!slot) return;
  slot.textContent = error.message;
  slot.hidden = false;
  slot.closest(".field, .schedule-edit")?.classList.add("invalid");
}

const ZONES = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];

/**
 * The settings of a task, named as the server's form fields. `values` uses the
 * same names (the edit page maps the frontmatter onto them).
 */
export function settingsFields(values = {}) {
  const zones = h("datalist", { id: "zones" }, ZONES.map((z) => h("option", { value: z })));
  return h("div", { class: "fields" },
    field("Title", input("title", values.title, { placeholder: "the file name" })),
    field("Time zone", input("timezone", values.timezone, { list: "zones", placeholder: "scheduler.timezone" }), { hint: "the wall clock the schedule is read in" }),
    field("Description", input("description", values.description), { wide: true }),
    field("Start", input("start", values.start, { placeholder: "2026-12-01T09:00" }), { hint: "no run before (ISO date-time)" }),
    field("End", input("end", values.end, { placeholder: "2027-01-31T18:00" }), { hint: "no run after" }),
    field("Timeout (s)", input("timeout", values.timeout, { inputmode: "decimal", placeholder: "300" })),
    field("Retries", input("retries", values.retries, { inputmode: "numeric", placeholder: "0" })),
    field("Retry delay (s)", input("retryDelay", values.retryDelay, { inputmode: "decimal", placeholder: "60" })),
    field("When a run is still going", select("overlap", [["", "skip the new one (default)"], ["skip", "skip"], ["queue", "queue it"], ["allow", "run both"], ["replace", "replace the old one"]], values.overlap ?? "")),
    field("Missed while down", select("catchUp", [["", "run the latest once (default)"], ["once", "once"], ["skip", "skip them"], ["all", "run each (up to 100)"]], values.catchUp ?? "")),
    field("Enabled", h("label", {}, h("input", { type: "checkbox", id: "f-enabled", name: "enabled", checked: values.enabled !== false }), "scheduled"), { name: "enabled" }),
    zones,
  );
}

/** The settings' values as typed, by field name ("" for an empty box). */
export function settingsValues(root) {
  const out = {};
  for (const name of ["title", "timezone", "description", "start", "end", "timeout", "retries", "retryDelay", "overlap", "catchUp"]) {
    out[name] = root.querySelector(`[name="${name}"]`).value.trim();
  }
  out.enabled = root.querySelector('[name="enabled"]').checked;
  return out;
}

/**
 * A live list of a schedule's next runs. `update(request)` posts it to the
 * host (debounced); a schedule the host refuses shows its reason beside the
 * field at fault (the schedule's own slot `slot`, or the zone, start or end).
 */
export function schedulePreview(root, slot) {
  const list = h("div", { class: "preview", "data-preview": slot }, h("div", { class: "muted" }, "Pick a schedule to see its next runs."));
  const slots = [slot, "timezone", "start", "end"];
  const clear = () => {
    for (const name of slots) {
      const el = root.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
      if (!el) continue;
      el.hidden = true;
      el.closest(".field, .schedule-edit")?.classList.remove("invalid");
    }
  };
  let timer;
  let seq = 0;
  const update = (request) => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const mine = ++seq;
      try {
        const preview = await api("/api/authoring/preview", { method: "POST", json: { count: 5, ...request } });
        if (mine !== seq) return;
        clear();
        list.replaceChildren(
          h("div", { class: "zone" }, `${preview.text} · next runs in ${preview.zone}`),
          preview.occurrences.length
            ? h("ol", {}, preview.occurrences.map((o) => h("li", { title: o.at }, o.local)))
            : h("div", { class: "muted" }, "No run left (the window is over, or the date has passed)."),
        );
      } catch (error) {
        if (mine !== seq) return;
        clear();
        list.replaceChildren(h("div", { class: "muted" }, "No preview: see the reason above."));
        showError(root, { message: error.message, field: slots.includes(error.field) ? error.field : slot }, slot);
      }
    }, 250);
  };
  return { element: list, update };
}

/** Marks the header link of the page shown. */
export function markNav(name) {
  for (const a of document.querySelectorAll("[data-nav]")) a.classList.toggle("current", a.dataset.nav === name);
}

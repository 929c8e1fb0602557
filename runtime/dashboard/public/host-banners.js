// What the host itself says above every page: a config.yaml it refused (edits do
// nothing until it is fixed) and how the previous host ended, when it crashed.
import { fmtTime, h } from "./dom.js";

/** The banners for GET /api/status's `host`, in order; none when all is well. */
export function hostBanners(host) {
  const banners = [];
  const bad = host?.configError;
  if (bad) {
    banners.push(h("div", { class: "panel config-banner", role: "alert" },
      h("b", {}, `${bad.file} is invalid`),
      ` since ${fmtTime(bad.since)}: the host runs on the last good configuration`,
      bad.lastGoodSavedAt ? ` (saved ${fmtTime(bad.lastGoodSavedAt)})` : "",
      " until it is fixed.",
      h("pre", { class: "error-text err" }, bad.error)));
  }
  const crash = host?.lastCrash;
  if (crash) {
    // A fact about the past, not an alarm: folded, its first line in view, the host's last words inside.
    const [first, ...rest] = crash.error.split("\n");
    banners.push(h("details", { class: "panel crash-note" },
      h("summary", {}, h("b", {}, "The host crashed"), ` at ${fmtTime(crash.at)} and was restarted by the supervisor: `, first),
      rest.length > 0 ? h("pre", { class: "error-text" }, rest.join("\n")) : null,
      h("p", { class: "muted" }, "See logs/errors.log and logs/supervisor.log.")));
  }
  return banners;
}

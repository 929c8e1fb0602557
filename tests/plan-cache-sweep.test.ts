/**
 * What a build cache sweep removes, decided from a view of the folders at a
 * fixed instant (planCacheSweep is pure; sweep-build-cache.test.ts runs it on
 * real files).
 */
import { describe, expect, it } from "vitest";
import { planCacheSweep, type CacheView } from "../runtime/host/plan-cache-sweep.ts";
import { codeCachePath, warmCodeCachePath } from "../runtime/task-file/script-code-cache.ts";

const NOW = Date.parse("2026-12-02T12:00:00Z");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const timing = { now: NOW, bundleGraceMs: HOUR, installGraceMs: DAY, unusedBefore: null };

const old = (p: string) => ({ path: p, mtimeMs: NOW - 30 * DAY });
const fresh = (p: string) => ({ path: p, mtimeMs: NOW - 60_000 });
/** A bundle as written and run: the ES module, its CommonJS twin and this Node's code caches of the twin (made with it, and after a run). */
const bundleFiles = (dir: string, hash: string) => [
  `${dir}/${hash}.mjs`,
  `${dir}/${hash}.cjs`,
  codeCachePath(`${dir}/${hash}.cjs`),
  warmCodeCachePath(`${dir}/${hash}.cjs`),
];

function view(parts: Partial<CacheView>): CacheView {
  return { bundleFiles: [], manifests: [], installs: [], liveManifests: new Set(), loadedBundles: [], ...parts };
}

describe("planCacheSweep", () => {
  it("keeps the bundles loaded tasks run and those the manifests of known task files name, each with its twin and code cache", () => {
    const plan = planCacheSweep(
      view({
        bundleFiles: [...bundleFiles("/b", "aa"), ...bundleFiles("/b", "bb"), ...bundleFiles("/b", "cc")].map(old),
        manifests: [{ ...old("/m/1.json"), bundle: "/b/bb.mjs" }],
        liveManifests: new Set(["/m/1.json"]),
        loadedBundles: ["/b/aa.mjs"],
      }),
      timing,
    );
    expect(plan.remove.sort()).toEqual(bundleFiles("/b", "cc").sort());
  });

  it("removes another Node version's code caches of a bundle it keeps", () => {
    const stale = ["/b/aa.cjs.v18.20.0-x64.v8c", "/b/aa.cjs.v18.20.0-x64.warm.v8c"];
    const plan = planCacheSweep(view({ bundleFiles: [...bundleFiles("/b", "aa"), ...stale].map(old), loadedBundles: ["/b/aa.mjs"] }), timing);
    expect(plan.remove).toEqual(stale);
  });

  it("removes the manifest of a task file that is gone, and the bundle only it named", () => {
    const plan = planCacheSweep(
      view({ bundleFiles: bundleFiles("/b", "dd").map(old), manifests: [{ ...old("/m/gone.json"), bundle: "/b/dd.mjs" }] }),
      timing,
    );
    expect(plan.remove.sort()).toEqual(["/m/gone.json", ...bundleFiles("/b", "dd")].sort());
  });

  it("keeps what was written within the grace: a load in flight writes its bundle before its manifest", () => {
    const plan = planCacheSweep(
      view({
        bundleFiles: [...bundleFiles("/b", "ee").map(fresh), fresh("/b/ff.mjs.123.tmp")],
        manifests: [{ ...fresh("/m/new.json"), bundle: "/b/gg.mjs" }],
        installs: [fresh("/d/0123456789abcdef")],
      }),
      timing,
    );
    expect(plan.remove).toEqual([]);
    // An hour and a day later they are unused and old.
    const later = planCacheSweep(
      view({
        bundleFiles: [...bundleFiles("/b", "ee").map(fresh), fresh("/b/ff.mjs.123.tmp")],
        manifests: [{ ...fresh("/m/new.json"), bundle: "/b/gg.mjs" }],
        installs: [fresh("/d/0123456789abcdef")],
      }),
      { ...timing, now: NOW + DAY + HOUR },
    );
    expect(later.remove.sort()).toEqual([...bundleFiles("/b", "ee"), "/b/ff.mjs.123.tmp", "/m/new.json", "/d/0123456789abcdef"].sort());
  });

  it("keeps an install a kept bundle lives in, or that a load used within a day; an unused one goes with its bundles", () => {
    const used = "/d/1111111111111111";
    const recent = "/d/2222222222222222";
    const stale = "/d/3333333333333333";
    const plan = planCacheSweep(
      view({
        installs: [old(used), { path: recent, mtimeMs: NOW - 2 * HOUR }, old(stale)],
        bundleFiles: [...bundleFiles(`${used}/bundles`, "a1"), ...bundleFiles(`${used}/bundles`, "a0"), ...bundleFiles(`${stale}/bundles`, "a2")].map(old),
        loadedBundles: [`${used}/bundles/a1.mjs`],
      }),
      timing,
    );
    // The stale install is removed whole (its bundles with it); the used one keeps only its loaded bundle.
    expect(plan.remove.sort()).toEqual([stale, ...bundleFiles(`${used}/bundles`, "a0")].sort());
  });

  it("keeps an old install while a bundle is being written into it", () => {
    const install = "/d/4444444444444444";
    const plan = planCacheSweep(view({ installs: [old(install)], bundleFiles: [fresh(`${install}/bundles/new.mjs`)] }), timing);
    expect(plan.remove).toEqual([]);
  });

  it("after the first sweep, removes only what was unused at the sweep before too", () => {
    const v = view({ bundleFiles: [...bundleFiles("/b", "aa"), ...bundleFiles("/b", "bb")].map(old) });
    const first = planCacheSweep(v, { ...timing, unusedBefore: new Set(bundleFiles("/b", "aa")) });
    expect(first.unused.sort()).toEqual([...bundleFiles("/b", "aa"), ...bundleFiles("/b", "bb")].sort());
    expect(first.remove.sort()).toEqual(bundleFiles("/b", "aa").sort());
  });
});

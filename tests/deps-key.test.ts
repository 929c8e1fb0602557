import path from "node:path";
import { describe, expect, it } from "vitest";
import { dependencyKey, normaliseDependency } from "../runtime/deps/dependency-key.ts";
import { dependencyBundleDir, dependencyExternals } from "../runtime/deps/dependency-externals.ts";
import { DependencyInstallError, ERR_DEPENDENCY_INSTALL } from "../runtime/deps/dependency-install-error.ts";
import { resolveDependencyOptions } from "../runtime/deps/resolve-dependency-options.ts";

const key = (specs: string[], allowScripts = false, registry: string | null = null) =>
  dependencyKey({ specs, allowScripts, registry }).key;

describe("dependencyKey", () => {
  it("is the same for the same set in any order, with repeats", () => {
    const a = key(["dayjs@^1.11", "@scope/name@beta", "zod@3.23.8"]);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(key(["zod@3.23.8", "dayjs@^1.11", "@scope/name@beta"])).toBe(a);
    expect(key(["@scope/name@beta", "zod@3.23.8", "dayjs@^1.11", "zod@3.23.8"])).toBe(a);
  });

  it("reads specs the way npm does: equal ranges and versions are one key", () => {
    expect(key(["dayjs@^1.11"])).toBe(key(["dayjs@^1.11.0"]));
    expect(key(["dayjs@^1.11"])).toBe(key(["dayjs@>=1.11.0 <2"]));
    expect(key(["dayjs"])).toBe(key(["dayjs@*"]));
    expect(key(["dayjs"])).toBe(key(["dayjs@"]));
    expect(key(["dayjs@1.11.13"])).toBe(key(["dayjs@v1.11.13"]));
    expect(key(["dayjs@1.11.13"])).toBe(key(["dayjs@=1.11.13"]));
  });

  it("keeps sets that may install different versions apart", () => {
    expect(key(["dayjs@^1.11"])).not.toBe(key(["dayjs@~1.11"]));
    expect(key(["dayjs@1.11.13"])).not.toBe(key(["dayjs@1.11.12"]));
    // A tag is not folded into `*`: `latest` need not be the highest version.
    expect(key(["dayjs@latest"])).not.toBe(key(["dayjs"]));
    expect(key(["dayjs@beta"])).not.toBe(key(["dayjs@next"]));
    expect(key(["dayjs"])).not.toBe(key(["dayjs", "zod"]));
  });

  it("covers allow_scripts and the registry (a trailing slash aside)", () => {
    expect(key(["dayjs"], true)).not.toBe(key(["dayjs"], false));
    expect(key(["dayjs"], false, "http://127.0.0.1:4873")).not.toBe(key(["dayjs"], false, null));
    expect(key(["dayjs"], false, "http://127.0.0.1:4873")).toBe(key(["dayjs"], false, "http://127.0.0.1:4873/"));
  });

  it("returns the set sorted by name in canonical form", () => {
    const k = dependencyKey({ specs: ["zod@3.23.8", "dayjs@^1.11", "@scope/name@beta", "chalk"], allowScripts: false, registry: null });
    expect(k.canonical).toEqual(["@scope/name@beta", "chalk@*", "dayjs@>=1.11.0 <2.0.0-0", "zod@3.23.8"]);
    expect(k.dependencies[0]).toEqual({ name: "@scope/name", spec: "beta" });
  });

  it("refuses two versions of one package", () => {
    expect(() => key(["dayjs@1", "dayjs@2"])).toThrow(/two versions of dayjs/);
  });

  it.each([
    ["--registry=http://evil.example", /command-line flag/],
    ["../x", /local path/],
    ["file:../x", /local/],
    ["git+https://github.com/a/b.git", /git repository/],
    ["https://example.com/x.tgz", /URL/],
    ["npm:dayjs@1", /alias/],
    ["", /empty/],
  ])("refuses %j before npm sees it", (spec, why) => {
    let error: unknown;
    try {
      normaliseDependency(spec);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DependencyInstallError);
    expect((error as DependencyInstallError).code).toBe(ERR_DEPENDENCY_INSTALL);
    expect((error as DependencyInstallError).reason).toBe("invalid-spec");
    expect((error as Error).message).toMatch(why);
  });
});

describe("dependencyExternals", () => {
  it("lists each package and its subpaths", () => {
    expect(dependencyExternals(["dayjs@^1.11", "@scope/name@beta", "dayjs@^1.11.0"])).toEqual([
      "@scope/name",
      "@scope/name/*",
      "dayjs",
      "dayjs/*",
    ]);
    expect(dependencyBundleDir("/data/deps/abc")).toBe(path.join("/data/deps/abc", "bundles"));
  });
});

describe("resolveDependencyOptions", () => {
  const base = { registry: null, installTimeoutSec: 300, dataDir: "/srv/th/data" };

  it("validates, normalises and freezes", () => {
    const options = resolveDependencyOptions({ ...base, registry: "http://127.0.0.1:4873" });
    expect(options).toMatchObject({
      registry: "http://127.0.0.1:4873/",
      installTimeoutSec: 300,
      depsDir: path.join("/srv/th/data", "deps"),
      npmCommand: "npm",
      env: null,
      maxConcurrentInstalls: 2,
    });
    expect(Object.isFrozen(options)).toBe(true);
  });

  it("refuses bad values", () => {
    expect(() => resolveDependencyOptions({ ...base, registry: "ftp://x" })).toThrow(/dependencies.registry/);
    expect(() => resolveDependencyOptions({ ...base, registry: "not a url" })).toThrow(/dependencies.registry/);
    expect(() => resolveDependencyOptions({ ...base, installTimeoutSec: 0 })).toThrow(/dependencies.install_timeout/);
    expect(() => resolveDependencyOptions({ ...base, installTimeoutSec: Number.NaN })).toThrow(/install_timeout/);
    expect(() => resolveDependencyOptions({ ...base, dataDir: "data" })).toThrow(/absolute/);
    expect(() => resolveDependencyOptions({ ...base, maxConcurrentInstalls: 0 })).toThrow(/maxConcurrentInstalls/);
  });
});

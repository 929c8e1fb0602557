/**
 * A tiny npm registry on 127.0.0.1 for tests that install dependencies without
 * the network. It serves the fixture packages under `tests/fixtures/deps/<name>/<version>/`
 * (scoped: `@scope/name/<version>/`), packed with `npm pack`:
 *   GET /<name>            packument (versions, dist-tags, dist.tarball/shasum/integrity)
 *   GET /<name>/-/<file>   tarball
 * anything else is a 404 in the registry's JSON shape. Names listed in `hang`
 * get no answer at all (for install timeouts).
 *
 * Tarballs are built once per fixture content into a folder under the OS temp
 * dir named by a hash of the fixture sources, so test files (and runs) share them.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import semver from "semver";
import { REPO } from "./temp-project.ts";

export const FIXTURE_PACKAGES_DIR = path.join(REPO, "tests", "fixtures", "deps");
/**
 * Real packages served too, packed from taskhost's own node_modules (devDependencies):
 * tasks under test use them from their `dependencies` (issue 13's compatibility tests).
 */
export const REAL_PACKAGES = ["dayjs", "lodash", "zod"];

export interface LocalRegistry {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  /** Every request path, in order (decoded), e.g. `/th-fixture-greet`, `/th-fixture-greet/-/th-fixture-greet-1.0.0.tgz`. */
  readonly requests: string[];
  close(): Promise<void>;
}

interface PackedVersion {
  name: string;
  version: string;
  manifest: Record<string, unknown>;
  /** File name of the tarball inside the tarball folder. */
  filename: string;
  shasum: string;
  integrity: string;
}

interface PackedFixtures {
  dir: string;
  versions: PackedVersion[];
}

let packed: Promise<PackedFixtures> | null = null;

/** Packs every fixture package (once per process; reused across runs while the sources are unchanged). */
export function packFixtures(): Promise<PackedFixtures> {
  return (packed ??= packAll());
}

async function packAll(): Promise<PackedFixtures> {
  const sources = await fixtureVersionDirs();
  const hash = createHash("sha256");
  for (const dir of sources) {
    for (const file of await listFiles(dir)) hash.update(`${path.relative(FIXTURE_PACKAGES_DIR, file)}\0`).update(await readFile(file));
  }
  const dir = path.join(os.tmpdir(), `taskhost-fixture-tarballs-${hash.digest("hex").slice(0, 16)}`);
  const index = path.join(dir, "index.json");
  if (!existsSync(index)) {
    const work = `${dir}.tmp-${process.pid}`;
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    const versions = await npmPack(sources, work);
    await writeFile(path.join(work, "index.json"), JSON.stringify(versions, null, 2));
    try {
      await rename(work, dir);
    } catch {
      // Another test file packed the same sources first: use theirs.
      await rm(work, { recursive: true, force: true });
    }
  }
  return { dir, versions: JSON.parse(await readFile(index, "utf8")) as PackedVersion[] };
}

async function npmPack(sources: string[], out: string): Promise<PackedVersion[]> {
  const { stdout } = await promisify(execFile)(
    "npm",
    ["pack", ...sources, "--pack-destination", out, "--json", "--ignore-scripts", "--loglevel=error"],
    { cwd: out, env: { ...process.env, npm_config_cache: path.join(out, ".npm-cache"), npm_config_update_notifier: "false" } },
  );
  await rm(path.join(out, ".npm-cache"), { recursive: true, force: true });
  const results = JSON.parse(stdout) as Array<{ name: string; version: string; filename: string; shasum: string; integrity: string }>;
  return Promise.all(
    results.map(async (r, i) => ({
      name: r.name,
      version: r.version,
      manifest: JSON.parse(await readFile(path.join(sources[i]!, "package.json"), "utf8")) as Record<string, unknown>,
      filename: path.basename(r.filename),
      shasum: r.shasum,
      integrity: r.integrity,
    })),
  );
}

/** `<name>/<version>` and `@scope/<name>/<version>` folders under the fixtures dir. */
async function fixtureVersionDirs(): Promise<string[]> {
  const dirs: string[] = [];
  const packageDirs = async (parent: string): Promise<string[]> =>
    (await readdir(parent, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => path.join(parent, e.name));
  for (const top of await packageDirs(FIXTURE_PACKAGES_DIR)) {
    const packages = path.basename(top).startsWith("@") ? await packageDirs(top) : [top];
    for (const pkg of packages) dirs.push(...(await packageDirs(pkg)));
  }
  return [...dirs.sort(), ...REAL_PACKAGES.map((name) => path.join(REPO, "node_modules", name))];
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** Starts the registry on a loopback port: `port`, or a random one. */
export async function startLocalRegistry(options: { hang?: string[]; port?: number } = {}): Promise<LocalRegistry> {
  const fixtures = await packFixtures();
  const hang = new Set(options.hang ?? []);
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    requests.push(pathname);
    const name = pathname.slice(1).split("/-/")[0]!;
    if (hang.has(name)) return; // never answered: the client's timeout is under test
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const versions = fixtures.versions.filter((v) => v.name === name);
    if (req.method !== "GET" || versions.length === 0) return send(404, { error: "Not found" });
    if (pathname.includes("/-/")) {
      const file = versions.find((v) => pathname.endsWith(`/-/${v.filename}`));
      if (!file) return send(404, { error: "Not found" });
      void readFile(path.join(fixtures.dir, file.filename)).then(
        (data) => {
          res.writeHead(200, { "content-type": "application/octet-stream", "content-length": data.length });
          res.end(data);
        },
        () => send(500, { error: "tarball unreadable" }),
      );
      return;
    }
    send(200, packument(name, versions, url));
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(options.port ?? 0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function packument(name: string, versions: PackedVersion[], base: string): Record<string, unknown> {
  const tags: Record<string, string> = {};
  for (const v of versions) {
    // latest: the highest release; a prerelease `x.y.z-<tag>.n` goes to dist-tag <tag>.
    const pre = semver.prerelease(v.version);
    const tag = pre ? String(pre[0]) : "latest";
    if (!tags[tag] || semver.gt(v.version, tags[tag]!)) tags[tag] = v.version;
  }
  return {
    _id: name,
    name,
    "dist-tags": tags,
    versions: Object.fromEntries(
      versions.map((v) => [
        v.version,
        {
          ...v.manifest,
          _id: `${name}@${v.version}`,
          dist: { tarball: `${base}${name}/-/${v.filename}`, shasum: v.shasum, integrity: v.integrity },
        },
      ]),
    ),
  };
}

import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "./support/temp-project.ts";

/**
 * The shape rules of docs/architecture.md, checked on every run: no import
 * cycle between folders of runtime/, no file over 400 lines, and the seams
 * hold (the scheduler reaches runs and storage only through its ports).
 */
const RUNTIME = path.join(REPO, "runtime");

/**
 * TODO(lead, issue 12 item 7's housekeeping pass): what still breaks the rules,
 * listed exactly so each check stays as strict as it is. A new long file or
 * helpers import fails the test, and so does fixing one of these without
 * taking it off its list; when a list is empty, expect [] again (as the cycle
 * check does since the one LogLevel broke config <-> logging).
 */
const TODO_KNOWN = {
  /** Over 400 lines: none left (scheduler.ts, resolve-config.ts, parse-task-file.ts and pg-ledger.ts were split). */
  longFiles: [] as string[],
  /** Nothing left: the alert channels share util/smtp-transport.ts and util/desktop-notify.ts with helpers/. */
  helpersImports: [] as string[],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return name === "public" ? [] : sourceFiles(file);
    return /\.(ts|js)$/.test(name) ? [file] : [];
  });
}

/** Relative imports of a file, resolved to absolute paths (type-only imports count: they are design dependencies too). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?from\s+["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g)) {
    out.push(path.resolve(path.dirname(file), match[1] ?? match[2]!));
  }
  return out;
}

/** The top folder of runtime/ a file belongs to ("." for files directly in runtime/). */
function folderOf(file: string): string | null {
  const rel = path.relative(RUNTIME, file);
  if (rel.startsWith("..")) return null;
  const parts = rel.split(path.sep);
  return parts.length === 1 ? "." : parts[0]!;
}

function folderGraph(): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  for (const file of sourceFiles(RUNTIME)) {
    const from = folderOf(file)!;
    for (const target of importsOf(file)) {
      const to = folderOf(target);
      if (to == null || to === from) continue;
      const edges = graph.get(from) ?? new Map<string, string[]>();
      edges.set(to, [...(edges.get(to) ?? []), `${path.relative(REPO, file)} -> ${path.relative(REPO, target)}`]);
      graph.set(from, edges);
    }
  }
  return graph;
}

function findCycles(graph: Map<string, Map<string, string[]>>): string[][] {
  const cycles: string[][] = [];
  const visit = (node: string, trail: string[]) => {
    for (const next of graph.get(node)?.keys() ?? []) {
      const at = trail.indexOf(next);
      if (at >= 0) {
        const cycle = trail.slice(at);
        // Report each cycle once, from its smallest folder name.
        const start = cycle.indexOf([...cycle].sort()[0]!);
        const key = [...cycle.slice(start), ...cycle.slice(0, start)];
        if (!cycles.some((c) => c.join() === key.join())) cycles.push(key);
      } else visit(next, [...trail, next]);
    }
  };
  for (const node of graph.keys()) visit(node, [node]);
  return cycles;
}

describe("the shape of runtime/", () => {
  it("has no import cycle between folders", () => {
    const graph = folderGraph();
    const described = findCycles(graph).map((cycle) =>
      [cycle.join(" -> ") + ` -> ${cycle[0]}`, ...cycle.map((from, i) => `  ${graph.get(from)!.get(cycle[(i + 1) % cycle.length]!)![0]}`)].join("\n"),
    );
    expect(described).toEqual([]);
  });

  it("spells the log levels once (logging/log-level.ts), for config, the run layer and helpers/ alike", () => {
    const ONE = path.join(RUNTIME, "logging", "log-level.ts");
    const spelled = [...sourceFiles(RUNTIME), ...sourceFiles(path.join(REPO, "helpers"))]
      .filter((file) => file !== ONE && /"debug"\s*\|\s*"info"\s*\|\s*"warn"\s*\|\s*"error"/.test(readFileSync(file, "utf8")))
      .map((file) => path.relative(REPO, file));
    expect(spelled).toEqual([]);
  });

  it("keeps every file under 400 lines", () => {
    const long = [...sourceFiles(RUNTIME), ...sourceFiles(path.join(REPO, "helpers"))]
      .map((file) => ({ file: path.relative(REPO, file), lines: readFileSync(file, "utf8").split("\n").length }))
      .filter((f) => f.lines > 400);
    expect(long.map((f) => f.file)).toEqual(TODO_KNOWN.longFiles);
  });

  it("lets the scheduler reach runs and storage only through its ports", () => {
    const offending = sourceFiles(path.join(RUNTIME, "scheduler")).flatMap((file) =>
      importsOf(file)
        .filter((target) => folderOf(target) === "run" || /store[/\\]sqljs-/.test(target))
        .map((target) => `${path.relative(REPO, file)} -> ${path.relative(REPO, target)}`),
    );
    expect(offending).toEqual([]);
  });

  it("keeps the runtime off helpers/ (the library tasks import, which runs in their workers)", () => {
    const helpers = path.join(REPO, "helpers");
    const offending = sourceFiles(RUNTIME).flatMap((file) =>
      importsOf(file)
        .filter((target) => target.startsWith(helpers + path.sep))
        .map((target) => `${path.relative(REPO, file)} -> ${path.relative(REPO, target)}`),
    );
    expect(offending).toEqual(TODO_KNOWN.helpersImports);
  });

  it("never flushes the ledger from the scheduler or the host", () => {
    const flushing = [...sourceFiles(path.join(RUNTIME, "scheduler")), ...sourceFiles(path.join(RUNTIME, "host"))].filter((file) =>
      /\.flush\(\)/.test(readFileSync(file, "utf8")),
    );
    expect(flushing.map((f) => path.relative(REPO, f))).toEqual([]);
  });
});

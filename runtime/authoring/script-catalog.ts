/**
 * The scripts a task may be made for: any executable file, or any `.py`,
 * `.sh`, `.js`, `.mjs`, `.cjs` or `.ts` file, under the allowed folders
 * (`authoring.script_dirs`, default `scripts/`). A path from a form is only
 * accepted when it resolves (through symlinks) inside one of them.
 */
import { constants } from "node:fs";
import { access, readdir, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { taskhostError } from "../errors.ts";
import { PACKAGE_DIR } from "../runtime-paths.ts";
import { isInside } from "./task-paths.ts";

export const SCRIPT_EXTENSIONS = [".py", ".sh", ".js", ".mjs", ".cjs", ".ts"];

/** At most this many scripts are listed (a huge folder must not stall the page). */
const LIST_LIMIT = 2000;
const SKIPPED_DIRS = new Set(["node_modules", "__pycache__", ".git", ".venv", "venv"]);

/**
 * taskhost's own scripts (its operations and its bench), which share `scripts/` with the
 * project's when the project is taskhost's folder: not offered as a task's script (they can
 * still be named). tests/authoring-files.test.ts keeps this list true to the folder.
 */
export const OWN_SCRIPTS = new Set([
  "bench",
  "bench.ts",
  "check-overdue.sh",
  "install.sh",
  "monitor.sh",
  "pg-fleet.sh",
  "pg-start.sh",
  "pg-stop.sh",
  "reset-schedules.sh",
  "restart.sh",
  "setup-cron.sh",
  "typecheck.ts",
]);
const OWN_SCRIPTS_DIR = path.join(PACKAGE_DIR, "scripts");

export interface ScriptEntry {
  /** Relative to the project root, `/` separators: what the task file names. */
  path: string;
  /** How `executeScript` runs it: by extension, or directly. */
  runner: "python3" | "bash" | "node" | "tsx" | "executable";
}

function runnerOf(file: string): ScriptEntry["runner"] | null {
  switch (path.extname(file).toLowerCase()) {
    case ".py":
      return "python3";
    case ".sh":
      return "bash";
    case ".js":
    case ".mjs":
    case ".cjs":
      return "node";
    case ".ts":
      return file.endsWith(".d.ts") ? null : "tsx";
    default:
      return null;
  }
}

async function isExecutable(file: string): Promise<boolean> {
  return access(file, constants.X_OK).then(
    () => true,
    () => false,
  );
}

const toRel = (root: string, file: string) => path.relative(root, file).split(path.sep).join("/");

export class ScriptCatalog {
  /**
   * @param projectRoot absolute
   * @param dirs absolute folders scripts may come from
   */
  constructor(
    private readonly projectRoot: string,
    private readonly dirs: readonly string[],
  ) {}

  /** The allowed folders, relative to the project root (for messages and the page). */
  get folders(): string[] {
    return this.dirs.map((dir) => toRel(this.projectRoot, dir) || ".");
  }

  /** Every script in the allowed folders, sorted. */
  async list(): Promise<ScriptEntry[]> {
    const out: ScriptEntry[] = [];
    for (const dir of this.dirs) {
      const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        if (out.length >= LIST_LIMIT) break;
        const parent = (entry as { parentPath?: string }).parentPath ?? (entry as unknown as { path: string }).path;
        const file = path.join(parent, entry.name);
        const rel = path.relative(dir, file).split(path.sep);
        if (!entry.isFile() || rel.some((part) => part.startsWith(".") || SKIPPED_DIRS.has(part))) continue;
        if (path.resolve(dir) === OWN_SCRIPTS_DIR && OWN_SCRIPTS.has(rel[0]!)) continue;
        const runner = runnerOf(file) ?? ((await isExecutable(file)) ? "executable" : null);
        if (runner) out.push({ path: toRel(this.projectRoot, file), runner });
      }
    }
    return [...new Map(out.map((s) => [s.path, s])).values()].sort((a, b) => a.path.localeCompare(b.path));
  }

  /**
   * The script at `rel` (relative to the project root), or ERR_BAD_REQUEST
   * (field `script`) when it is missing, outside the allowed folders, or neither
   * executable nor of a known kind.
   */
  async resolve(rel: string): Promise<ScriptEntry> {
    const refuse = (why: string) =>
      taskhostError("ERR_BAD_REQUEST", `script ${JSON.stringify(rel)} ${why}`, { field: "script" });
    if (path.isAbsolute(rel) || rel.split(/[\\/]/).includes("..")) throw refuse(`must be a path inside ${this.folders.join(", ")}, relative to the project root`);
    const file = path.resolve(this.projectRoot, rel);
    const real = await realpath(file).catch(() => null);
    if (!real || !(await stat(real)).isFile()) throw refuse("does not exist (or is not a file)");
    const roots = await Promise.all(this.dirs.map((dir) => realpath(dir).catch(() => dir)));
    if (!this.dirs.some((dir) => isInside(dir, file)) || !roots.some((root) => isInside(root, real))) {
      throw refuse(`is not inside an allowed script folder (${this.folders.join(", ")}; see authoring.script_dirs)`);
    }
    const runner = runnerOf(file) ?? ((await isExecutable(real)) ? "executable" : null);
    if (!runner) throw refuse(`is neither executable nor a ${SCRIPT_EXTENSIONS.join("/")} file; chmod +x it or pick another`);
    return { path: toRel(this.projectRoot, file), runner };
  }
}

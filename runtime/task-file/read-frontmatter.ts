/**
 * Finds a task file's frontmatter block (a comment-wrapped or bare `---` block at
 * the top) and reads its YAML with node positions mapped back to file lines, so
 * every message of parse-task-file.ts points at the file's own line.
 */
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from "yaml";
import { TaskFileError, type TaskFileProblem } from "./task-file-error.ts";
import { unclosedOpener, yamlMessage } from "../util/yaml-error-place.ts";

export interface FrontmatterBlock {
  /** The YAML text between the `---` lines. */
  yaml: string;
  /** 1-based file line of the first YAML line. */
  firstLine: number;
  code: string;
}

export function findFrontmatter(source: string, file: string): FrontmatterBlock | undefined {
  const lines = source.split("\n");
  const text = (i: number) => (i === 0 ? lines[0].replace(/^\uFEFF/, "") : lines[i]).trim();
  let first = 0;
  while (first < lines.length && text(first) === "") first++;
  if (first === lines.length) return undefined;

  // Bare form: `---` as the first non-blank line. Not TypeScript, so its lines are
  // blanked in `code` (not removed: esbuild's line numbers must stay the file's).
  if (text(first) === "---") {
    const close = nextLine(lines.length, first + 1, (i) => text(i) === "---");
    if (close === undefined) throw blockError(file, first + 1, 'the frontmatter opened with "---" is never closed; add a "---" line after it');
    const code = lines.map((l, i) => (i <= close ? (l.endsWith("\r") ? "\r" : "") : l)).join("\n");
    return { yaml: lines.slice(first + 1, close).join("\n"), firstLine: first + 2, code };
  }

  // Comment form: `/*` (or `/**`), then a `---` line, the YAML, `---`, and `*/`.
  // A leading comment without the `---` is an ordinary comment, not frontmatter.
  const opener = /^\/\*\*?\s*(---)?$/.exec(text(first));
  if (!opener) return undefined;
  let open = first;
  if (!opener[1]) {
    const next = nextLine(lines.length, first + 1, (i) => text(i) !== "");
    if (next === undefined || text(next) !== "---") return undefined;
    open = next;
  }
  const end = nextLine(lines.length, open + 1, (i) => text(i).includes("*/"));
  const close = nextLine(end ?? lines.length, open + 1, (i) => text(i) === "---");
  if (close === undefined) {
    const closedOnEnd = end !== undefined && /^---\s*\*\/$/.test(text(end));
    if (!closedOnEnd) {
      throw blockError(file, open + 1, 'the frontmatter opened with "---" is never closed; add a "---" line before "*/"');
    }
    return { yaml: lines.slice(open + 1, end).join("\n"), firstLine: open + 2, code: source };
  }
  if (end === undefined) throw blockError(file, first + 1, 'the frontmatter comment is never closed; add "*/" after the closing "---"');
  return { yaml: lines.slice(open + 1, close).join("\n"), firstLine: open + 2, code: source };
}

function nextLine(limit: number, from: number, test: (i: number) => boolean): number | undefined {
  for (let i = from; i < limit; i++) if (test(i)) return i;
  return undefined;
}

function blockError(file: string, line: number, what: string): TaskFileError {
  return new TaskFileError(`${file}:${line}: ${what}`, file, line, 1);
}

// ---------------------------------------------------------------------------
// Reading the YAML

export interface Field {
  name: string;
  value: unknown;
  node: Node | null;
  line: number;
  column: number;
}

export interface YamlFields {
  fields: Field[];
  doc: Document;
  /** Maps a YAML offset to a file position. */
  at: (offset: number | undefined, fallback: { line: number; column: number }) => { line: number; column: number };
  warnings: TaskFileProblem[];
}

export function readYaml(block: FrontmatterBlock, file: string): YamlFields {
  // A fresh LineCounter per parse: it accumulates line starts across documents.
  const lineCounter = new LineCounter();
  const doc = parseDocument(block.yaml, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined, fallback: { line: number; column: number }) => {
    if (offset === undefined) return fallback;
    const pos = lineCounter.linePos(offset);
    return { line: block.firstLine + pos.line - 1, column: pos.col };
  };
  const start = { line: block.firstLine, column: 1 };
  const error = doc.errors[0];
  if (error) {
    // An unclosed `[`, `{` or quote is noticed where the next key starts: point at it instead.
    const opener = unclosedOpener(block.yaml, error.message, error.pos[0]);
    const { line, column } = at(opener ?? error.pos[0], start);
    const what = opener === undefined ? yamlMessage(error.message) : `the ${block.yaml[opener]} here is not closed (${yamlMessage(error.message)})`;
    throw new TaskFileError(`${file}:${line}: frontmatter is not valid YAML: ${what}`, file, line, column);
  }
  const warnings: TaskFileProblem[] = doc.warnings.map((w) => {
    const { line, column } = at(w.pos[0], start);
    return { file, line, column, message: `${file}:${line}: frontmatter YAML warning: ${yamlMessage(w.message)}` };
  });
  const fields: Field[] = [];
  const contents = doc.contents;
  if (contents === null || (isScalar(contents) && contents.value === null)) return { fields, doc, at, warnings };
  if (!isMap(contents)) {
    const { line, column } = at(contents.range?.[0], start);
    throw new TaskFileError(
      `${file}:${line}: frontmatter must be a list of "field: value" lines (title, timeout, ...)`,
      file,
      line,
      column,
    );
  }
  for (const pair of contents.items) {
    const key = isScalar(pair.key) ? pair.key : null;
    const keyPos = at(key?.range?.[0], start);
    const valueNode = (pair.value ?? null) as Node | null;
    const valuePos = valueNode && !(isScalar(valueNode) && valueNode.value === null) ? at(valueNode.range?.[0], keyPos) : keyPos;
    fields.push({
      name: String(key ? key.value : pair.key),
      value: valueNode ? valueNode.toJS(doc) : null,
      node: valueNode,
      ...valuePos,
    });
  }
  return { fields, doc, at, warnings };
}


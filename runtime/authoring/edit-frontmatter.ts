/**
 * Changes frontmatter fields of a task file in place. Only the characters of
 * the values that change are rewritten: comments, key order, quoting and
 * spacing of everything else stay exactly as the user left them. The YAML is
 * located with the loader's own `findFrontmatter` and read with the `yaml`
 * package's Document API (node ranges); a file without frontmatter gets a
 * `/* --- … --- *\/` block on top.
 */
import { isMap, isScalar, parseDocument, type Pair } from "yaml";
import { findFrontmatter } from "../task-file/parse-task-file.ts";
import { taskhostError } from "../errors.ts";

/** A field's new value; null removes the field (its default applies). */
export type FieldValue = string | number | boolean | readonly string[] | null;

/**
 * YAML text of one value: strings double-quoted (never read back as a number or
 * a date), on one line, and with `*\/` written `*\u002F`: the frontmatter sits in a
 * comment that a value must not be able to close (whatever follows would be code).
 */
export function yamlValue(value: Exclude<FieldValue, null>): string {
  const text = typeof value === "string" || Array.isArray(value) ? JSON.stringify(value) : String(value);
  return text.replaceAll("*/", "*\\u002F");
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

function lineEnd(text: string, offset: number): number {
  const nl = text.indexOf("\n", offset);
  return nl < 0 ? text.length : nl + 1;
}

/** The YAML between the `---` lines with its offsets in `source`, or null when the file has none. */
function locateYaml(source: string, file: string): { start: number; end: number } | null {
  const block = findFrontmatter(source, file);
  if (!block) return null;
  const lines = source.split("\n");
  let start = 0;
  for (let i = 0; i < block.firstLine - 1; i++) start += lines[i]!.length + 1;
  // An empty block: the line after the opening `---` is already the closing one.
  const closing = /^\s*---\s*(\*\/)?\s*$/.test(lines[block.firstLine - 1] ?? "");
  const end = block.yaml === "" && closing ? start : start + block.yaml.length + (block.yaml === "" ? 0 : 1);
  return { start, end: Math.min(end, source.length) };
}

/**
 * Returns `source` with `changes` applied to its frontmatter. Throws
 * ERR_TASK_FRONTMATTER when the existing frontmatter cannot be read (the
 * caller shows why; nothing is written).
 */
export function editFrontmatter(source: string, file: string, changes: Readonly<Record<string, FieldValue>>): string {
  const located = locateYaml(source, file);
  if (!located) {
    const lines = Object.entries(changes)
      .filter((entry): entry is [string, Exclude<FieldValue, null>] => entry[1] !== null)
      .map(([key, value]) => `${key}: ${yamlValue(value)}\n`);
    return lines.length === 0 ? source : `/*\n---\n${lines.join("")}---\n*/\n${source}`;
  }
  let yaml = source.slice(located.start, located.end);
  const doc = parseDocument(yaml, { keepSourceTokens: true });
  if (doc.errors.length > 0 || (doc.contents !== null && !isMap(doc.contents) && !(isScalar(doc.contents) && doc.contents.value === null))) {
    throw taskhostError("ERR_TASK_FRONTMATTER", `${file}: its frontmatter is not a valid list of "field: value" lines; fix it by hand first`);
  }
  const pairs = isMap(doc.contents) ? (doc.contents.items as Pair[]) : [];
  // Edits from the end backwards, so earlier offsets stay valid.
  const edits: Array<{ from: number; to: number; text: string }> = [];
  const added: string[] = [];
  for (const [key, value] of Object.entries(changes)) {
    const pair = pairs.find((p) => isScalar(p.key) && p.key.value === key);
    const keyRange = pair && isScalar(pair.key) ? pair.key.range : undefined;
    if (!pair || !keyRange) {
      if (value !== null) added.push(`${key}: ${yamlValue(value)}\n`);
      continue;
    }
    const node = pair.value as { range?: [number, number, number] } | null;
    const valueRange = node?.range && node.range[1] > node.range[0] ? node.range : undefined;
    if (value === null) {
      const to = valueRange ? lineEnd(yaml, valueRange[1] - 1) : lineEnd(yaml, keyRange[1]);
      edits.push({ from: lineStart(yaml, keyRange[0]), to, text: "" });
    } else if (valueRange) {
      // A block list's range runs into the next line: keep that line break.
      const breaks = yaml.slice(valueRange[0], valueRange[1]).endsWith("\n") ? "\n" : "";
      edits.push({ from: valueRange[0], to: valueRange[1], text: yamlValue(value) + breaks });
    } else {
      // `timeout:` written empty: the value goes after the colon.
      const colon = yaml.indexOf(":", keyRange[1]);
      edits.push({ from: colon + 1, to: colon + 1, text: ` ${yamlValue(value)}` });
    }
  }
  for (const edit of edits.sort((a, b) => b.from - a.from)) yaml = yaml.slice(0, edit.from) + edit.text + yaml.slice(edit.to);
  if (added.length > 0) yaml = `${yaml}${yaml === "" || yaml.endsWith("\n") ? "" : "\n"}${added.join("")}`;
  return source.slice(0, located.start) + yaml + source.slice(located.end);
}

/**
 * Finds the schedule decorators (`@repeat(...)`, `@once(...)`) in a task file's
 * source, with the exact character range of each and the method it sits on, so
 * the editor can replace one argument and leave every other character alone.
 *
 * Not a TypeScript parser: a scanner that knows enough of the language to
 * never mistake a comment, string, template or regular expression for code
 * (the frontmatter comment included), and to match parentheses.
 */

export interface ScheduleDecorator {
  decorator: "repeat" | "once";
  /** Offset of the `@`. */
  start: number;
  /** Offset just after the closing `)`. */
  end: number;
  /** The text between the parentheses, as written. */
  argument: string;
  method: string;
  /** `method`, then `method:2`, `method:3` for further decorators on it (the schedule id is `<task>#<key>`). */
  key: string;
}

/** The offset just past a comment, string, template or regex starting at `i`, or `i` when none starts there. */
function skipNonCode(src: string, i: number, prev: string): number {
  const c = src[i];
  const next = src[i + 1];
  if (c === "/" && next === "/") {
    const nl = src.indexOf("\n", i);
    return nl < 0 ? src.length : nl;
  }
  if (c === "/" && next === "*") {
    const close = src.indexOf("*/", i + 2);
    return close < 0 ? src.length : close + 2;
  }
  if (c === '"' || c === "'") {
    let j = i + 1;
    while (j < src.length && src[j] !== c && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1;
    return j + 1;
  }
  if (c === "`") return skipTemplate(src, i + 1);
  // A slash starts a regular expression where a value is expected (after an operator or opener).
  if (c === "/" && (prev === "" || "(,=:[!&|?{};+-*%<>~^".includes(prev))) {
    let j = i + 1;
    let inClass = false;
    while (j < src.length && src[j] !== "\n") {
      if (src[j] === "\\") j++;
      else if (src[j] === "[") inClass = true;
      else if (src[j] === "]") inClass = false;
      else if (src[j] === "/" && !inClass) break;
      j++;
    }
    return j + 1;
  }
  return i;
}

function skipTemplate(src: string, i: number): number {
  let j = i;
  while (j < src.length) {
    if (src[j] === "\\") j += 2;
    else if (src[j] === "`") return j + 1;
    else if (src[j] === "$" && src[j + 1] === "{") j = skipBalanced(src, j + 1, "{", "}");
    else j++;
  }
  return j;
}

/** From an opener at `i`, the offset just past its matching closer. */
function skipBalanced(src: string, i: number, open: string, close: string): number {
  let depth = 0;
  let prev = "";
  let j = i;
  while (j < src.length) {
    const skipped = skipNonCode(src, j, prev);
    if (skipped !== j) {
      j = skipped;
      prev = "a";
      continue;
    }
    const c = src[j]!;
    if (c === open) depth++;
    else if (c === close && --depth === 0) return j + 1;
    if (!/\s/.test(c)) prev = c;
    j++;
  }
  return src.length;
}

const MODIFIERS = new Set(["async", "public", "override", "readonly", "static", "accessor", "get", "set"]);

/** Every schedule decorator in `source` from offset `from` on, in source order. */
export function findScheduleDecorators(source: string, from = 0): ScheduleDecorator[] {
  const found: ScheduleDecorator[] = [];
  let pending: Array<Omit<ScheduleDecorator, "method" | "key">> = [];
  const perMethod = new Map<string, number>();
  let prev = "";
  let i = from;
  while (i < source.length) {
    const skipped = skipNonCode(source, i, prev);
    if (skipped !== i) {
      i = skipped;
      prev = "a";
      continue;
    }
    const c = source[i]!;
    if (c === "@") {
      const name = /^@\s*([A-Za-z_$][\w$]*)/.exec(source.slice(i));
      let j = i + (name?.[0].length ?? 1);
      while (/\s/.test(source[j] ?? "")) j++;
      if (source[j] === "(") {
        const end = skipBalanced(source, j, "(", ")");
        if (name && (name[1] === "repeat" || name[1] === "once")) {
          pending.push({ decorator: name[1], start: i, end, argument: source.slice(j + 1, end - 1) });
        }
        j = end;
      }
      i = j;
      prev = ")";
      continue;
    }
    if (pending.length > 0 && /[A-Za-z_$]/.test(c)) {
      const word = /^[A-Za-z_$][\w$]*/.exec(source.slice(i))![0];
      i += word.length;
      if (MODIFIERS.has(word)) continue;
      for (const d of pending) {
        const n = (perMethod.get(word) ?? 0) + 1;
        perMethod.set(word, n);
        found.push({ ...d, method: word, key: n === 1 ? word : `${word}:${n}` });
      }
      pending = [];
      prev = "a";
      continue;
    }
    if (!/\s/.test(c)) prev = c;
    i++;
  }
  return found;
}

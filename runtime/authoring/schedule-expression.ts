/**
 * Schedules as the text of a task file's decorator: `every(5).minutes`,
 * `every().day.at("09:00")`, `cron("0 9 * * 1-5")`, `once("2026-12-01T09:00")`.
 *
 * The dashboard and `taskhost new` pass schedules around in this form because it
 * is what lands in the file. Text from a form is never evaluated: it is read
 * by the small grammar below, then handed to the very builders a task file
 * calls (`every`, `cron`), so it is refused for the same reasons, with the same
 * messages, as it would be when the task loads.
 */
import { every } from "../api/every.ts";
import { cron } from "../api/cron.ts";
import type { Schedule } from "../api/schedule.ts";
import { parseOnce } from "../schedule/parse-once.ts";
import type { ScheduleSpec } from "../schedule/schedule-spec.ts";
import { describeSchedule } from "../schedule/describe-schedule.ts";
import { taskhostError } from "../errors.ts";

export interface ParsedSchedule {
  /** The decorator it belongs in: `@repeat(<expression>)` or `@once(<at>)`. */
  decorator: "repeat" | "once";
  /** Normalised text, e.g. `every(5).minutes` or `once("2026-12-01T09:00")`. */
  expression: string;
  /** What goes between the decorator's parentheses. */
  argument: string;
  spec: ScheduleSpec;
  /** Human text, as `status` shows it. */
  text: string;
}

const UNITS = ["second", "seconds", "minute", "minutes", "hour", "hours", "day", "days"] as const;
const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const;
type Member = (typeof UNITS)[number] | (typeof WEEKDAYS)[number];

type Token = { kind: "word"; text: string } | { kind: "number"; value: number } | { kind: "string"; value: string } | { kind: "punct"; text: string };

function invalid(text: string, why: string): Error {
  return taskhostError("ERR_SCHEDULE_INVALID", `schedule ${JSON.stringify(text)} is invalid: ${why}`);
}

const CALL_EXAMPLE: Record<string, string> = { every: "every(5).minutes or every().day.at(\"09:00\")", cron: 'cron("0 9 * * *")', once: 'once("2026-12-24T09:00")' };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) i++;
    else if ("().".includes(c)) {
      tokens.push({ kind: "punct", text: c });
      i++;
    }
    else if (/[A-Za-z_]/.test(c)) {
      const word = /^[A-Za-z_]\w*/.exec(text.slice(i))![0];
      tokens.push({ kind: "word", text: word });
      i += word.length;
    } else if (/\d/.test(c)) {
      const digits = /^\d+/.exec(text.slice(i))![0];
      tokens.push({ kind: "number", value: Number(digits) });
      i += digits.length;
    } else if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw invalid(text, "a string is never closed");
      const body = text.slice(i + 1, end);
      if (body.includes("\\")) throw invalid(text, "write the string without backslashes");
      tokens.push({ kind: "string", value: body });
      i = end + 1;
    } else throw invalid(text, `unexpected ${JSON.stringify(c)}`);
  }
  return tokens;
}

/** Reads schedule text in the builder language; throws ERR_SCHEDULE_INVALID saying why. */
export function parseScheduleExpression(input: string): ParsedSchedule {
  const text = typeof input === "string" ? input.trim() : "";
  if (text === "") throw invalid(String(input ?? ""), 'give a schedule such as every(5).minutes or cron("0 9 * * *")');
  // `once 2026-12-24T09:00`, `every 5 minutes`: the right word, written as a phrase rather than a call.
  const phrase = /^(every|cron|once)\b(?!\s*\()/.exec(text)?.[1];
  if (phrase) throw invalid(text, `write it as a call, like ${CALL_EXAMPLE[phrase]}`);
  const tokens = tokenize(text);
  let at = 0;
  const peek = () => tokens[at];
  const take = () => tokens[at++];
  const expect = (punct: string) => {
    const t = take();
    if (t?.kind !== "punct" || t.text !== punct) throw invalid(text, `expected "${punct}"`);
  };
  const stringArgument = (): string => {
    expect("(");
    const t = take();
    if (t?.kind !== "string") throw invalid(text, "expected a quoted string between the parentheses");
    expect(")");
    return t.value;
  };
  const head = take();
  if (head?.kind !== "word") throw invalid(text, "it must start with every(, cron( or once(");
  let result: ParsedSchedule;
  if (head.text === "cron") {
    result = fromSchedule(cron(stringArgument()));
  } else if (head.text === "once") {
    const when = stringArgument().trim();
    parseOnce(when); // throws ERR_SCHEDULE_INVALID saying what is wrong
    const spec: ScheduleSpec = { kind: "once", at: when };
    result = { decorator: "once", expression: `once(${JSON.stringify(when)})`, argument: JSON.stringify(when), spec, text: describeSchedule(spec) };
  } else if (head.text === "every") {
    expect("(");
    let n: number | undefined;
    if (peek()?.kind === "number") n = (take() as { value: number }).value;
    expect(")");
    expect(".");
    const member = take();
    if (member?.kind !== "word" || !([...UNITS, ...WEEKDAYS] as readonly string[]).includes(member.text)) {
      throw invalid(text, `after every(${n ?? ""}). write one of ${UNITS.join(", ")} or a weekday`);
    }
    let schedule: Schedule = every(n)[member.text as Member];
    if (peek()) {
      expect(".");
      const word = take();
      if (word?.kind !== "word" || word.text !== "at") throw invalid(text, 'only .at("…") may follow');
      schedule = schedule.at(stringArgument());
    }
    result = fromSchedule(schedule);
  } else {
    throw invalid(text, "it must start with every(, cron( or once(");
  }
  if (at < tokens.length) throw invalid(text, "unexpected text after the schedule");
  return result;
}

function fromSchedule(schedule: Schedule): ParsedSchedule {
  return {
    decorator: "repeat",
    expression: schedule.expression,
    argument: schedule.expression,
    spec: schedule.spec,
    text: describeSchedule(schedule.spec),
  };
}

/**
 * The command line's `--every "5 minutes"` (also "minute", "2 hours", "day at
 * 09:00", "hour at :15", "monday at 08:30") as builder text.
 */
export function everyPhraseExpression(phrase: string): string {
  const m = /^\s*(?:every\s+)?(\d+\s+)?([a-z]+)(?:\s+at\s+(\S+))?\s*$/i.exec(phrase);
  if (!m) throw invalid(phrase, 'write a count and a unit, e.g. "5 minutes", "hour", "day at 09:00" or "monday at 08:30"');
  const n = m[1] ? Number(m[1]) : undefined;
  const word = m[2]!.toLowerCase();
  const at = m[3] ? `.at(${JSON.stringify(m[3])})` : "";
  if ((WEEKDAYS as readonly string[]).includes(word)) return `every().${word}${at}`;
  const unit = word.replace(/s$/, "");
  if (!["second", "minute", "hour", "day"].includes(unit)) throw invalid(phrase, `"${m[2]}" is not a unit (seconds, minutes, hours, days) or a weekday`);
  return n === undefined || n === 1 ? `every().${unit}${at}` : `every(${n}).${unit}s${at}`;
}

/** A cron expression as builder text. */
export function cronExpression(expr: string): string {
  return `cron(${JSON.stringify(expr.trim())})`;
}

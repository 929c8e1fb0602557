import { ERR_TIMEZONE_INVALID, scheduleError } from "./schedule-errors.ts";

/**
 * Turns a configured time zone into a canonical IANA name.
 * "local" (any case) is the machine's zone as Intl sees it (honours $TZ).
 * Intl is the validator: it knows exactly the zones the offset maths can use.
 * The result is Intl's canonical spelling ("utc" -> "UTC", "US/Eastern" ->
 * "America/New_York"), so one zone has one name in the database.
 */
export function resolveZone(name: string): string {
  if (typeof name !== "string" || name.trim() === "") {
    throw invalid(String(name));
  }
  const trimmed = name.trim();
  if (trimmed.toLowerCase() === "local") {
    // Some minimal ICU builds report undefined; UTC is the honest fallback.
    return new Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  }
  // Offsets such as "+01:00" are not IANA names; newer Intl versions accept them.
  if (!/^[A-Za-z]/.test(trimmed)) throw invalid(trimmed);
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: trimmed }).resolvedOptions().timeZone;
  } catch {
    throw invalid(trimmed);
  }
}

function invalid(name: string): Error {
  return scheduleError(
    ERR_TIMEZONE_INVALID,
    `taskhost schedule: time zone "${name}" is invalid: use an IANA name such as "Europe/Berlin" or "UTC", or "local"`,
  );
}

/**
 * The IANA name in its canonical spelling (one zone, one name in the database),
 * or undefined when it is not a zone name. "local" is not handled here.
 */
export function canonicalZone(name: string): string | undefined {
  if (name.toLowerCase() === "local") return undefined;
  try {
    return resolveZone(name);
  } catch {
    return undefined;
  }
}

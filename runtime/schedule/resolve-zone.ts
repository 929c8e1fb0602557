import { ERR_TIMEZONE_INVALID, scheduleError } from "./schedule-errors.ts";

/**
 * Turns a configured time zone into a canonical IANA name.
 * "local" (any case) is the machine's zone as Intl sees it (honours $TZ).
 * Intl is the validator: it knows exactly the zones the offset maths can use.
 * The result is one canonical spelling ("utc" -> "UTC", "US/Eastern" ->
 * "America/New_York"), so one zone has one name in the database: Intl's,
 * except where Intl (ICU's CLDR ids, Node < 22) still answers with a name the
 * IANA database has since replaced ("Asia/Kolkata" -> "Asia/Calcutta"): then
 * the IANA one, the name people write and expect to read back.
 */
export function resolveZone(name: string): string {
  if (typeof name !== "string" || name.trim() === "") {
    throw invalid(String(name));
  }
  const trimmed = name.trim();
  if (trimmed.toLowerCase() === "local") {
    // Some minimal ICU builds report undefined; UTC is the honest fallback.
    return ianaZoneName(new Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC");
  }
  // Offsets such as "+01:00" are not IANA names; newer Intl versions accept them.
  if (!/^[A-Za-z]/.test(trimmed)) throw invalid(trimmed);
  try {
    return ianaZoneName(new Intl.DateTimeFormat("en-US", { timeZone: trimmed }).resolvedOptions().timeZone);
  } catch {
    throw invalid(trimmed);
  }
}

/** A zone's IANA name for a CLDR id (what Intl answers on Node 20), else the id itself. */
export function ianaZoneName(id: string): string {
  return IANA_NAME_OF_CLDR_ID[id] ?? id;
}

/**
 * The zone as schedules' fingerprints hold it (ledger.ts: a changed fingerprint drops the stored
 * next run, and hosts claim only the fingerprint they loaded): Intl's own id, as before zones
 * were shown by their IANA names, so that change moves no schedule, and hosts of a fleet
 * mid-upgrade agree.
 */
export function fingerprintZone(zone: string): string {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return zone;
  }
}

/** CLDR's canonical ids that differ from the IANA database's current names (the list V8 later adopted for Intl). */
const IANA_NAME_OF_CLDR_ID: Readonly<Record<string, string>> = {
  "Africa/Asmera": "Africa/Asmara",
  "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
  "America/Catamarca": "America/Argentina/Catamarca",
  "America/Coral_Harbour": "America/Atikokan",
  "America/Cordoba": "America/Argentina/Cordoba",
  "America/Godthab": "America/Nuuk",
  "America/Indianapolis": "America/Indiana/Indianapolis",
  "America/Jujuy": "America/Argentina/Jujuy",
  "America/Louisville": "America/Kentucky/Louisville",
  "America/Mendoza": "America/Argentina/Mendoza",
  "Asia/Calcutta": "Asia/Kolkata",
  "Asia/Katmandu": "Asia/Kathmandu",
  "Asia/Rangoon": "Asia/Yangon",
  "Asia/Saigon": "Asia/Ho_Chi_Minh",
  "Atlantic/Faeroe": "Atlantic/Faroe",
  "Europe/Kiev": "Europe/Kyiv",
  "Pacific/Enderbury": "Pacific/Kanton",
  "Pacific/Ponape": "Pacific/Pohnpei",
  "Pacific/Truk": "Pacific/Chuuk",
};

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

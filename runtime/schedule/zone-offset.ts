/**
 * UTC offset of an IANA zone at an instant, in ms (wall clock = instant + offset).
 *
 * Intl is the only tz database we rely on (no Temporal in the hot path: it is
 * slower and would bloat every task bundle). One Intl call costs ~3 µs, so
 * results are cached: first per UTC day, and for a day that contains a
 * transition, per UTC hour; a span whose first and last ms have the same
 * offset is treated as constant (the tz database has no pair of transitions
 * that cancel out within one day). An hour that contains a transition is
 * marked and computed exactly on each call.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Bounded so a long-running host or a wide catch-up scan cannot grow them forever. */
const MAX_CACHED = 100_000;
/** Marks a cached span that contains a transition. */
const MIXED = Number.NaN;

interface ZoneCache {
  format: Intl.DateTimeFormat;
  /** UTC day index -> offset ms, or MIXED. */
  days: Map<number, number>;
  /** UTC hour index -> offset ms, or MIXED; only for MIXED days. */
  hours: Map<number, number>;
}

const zones = new Map<string, ZoneCache>();

function zoneCache(zone: string): ZoneCache {
  let cache = zones.get(zone);
  if (!cache) {
    cache = {
      format: new Intl.DateTimeFormat("en-US", {
        timeZone: zone,
        hourCycle: "h23",
        era: "short",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      }),
      days: new Map(),
      hours: new Map(),
    };
    zones.set(zone, cache);
  }
  return cache;
}

/** "11/14/2023 AD, 23:13:20" — en-US output; parsing it is ~3x faster than formatToParts. */
const EN_US = /^(\d+)\/(\d+)\/(\d+) ([AB])[^,]*, (\d+):(\d+):(\d+)$/;

/** Exact offset from Intl, second precision (tz offsets are whole seconds). */
export function exactOffsetMs(zone: string, instant: number): number {
  const seconds = Math.floor(instant / 1000) * 1000;
  const format = zoneCache(zone).format;
  const m = EN_US.exec(format.format(seconds));
  let fields: number[];
  if (m) {
    fields = [m[4] === "B" ? 1 - Number(m[3]) : Number(m[3]), Number(m[1]), Number(m[2]), Number(m[5]), Number(m[6]), Number(m[7])];
  } else {
    // A future ICU might punctuate differently; formatToParts is the stable API.
    const get = (type: string) => format.formatToParts(seconds).find((p) => p.type === type)?.value ?? "0";
    const year = Number(get("year"));
    fields = [get("era").startsWith("B") ? 1 - year : year, Number(get("month")), Number(get("day")),
      Number(get("hour")), Number(get("minute")), Number(get("second"))];
  }
  const [year, month, day, hour, minute, second] = fields;
  const wall = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  wall.setUTCFullYear(year, month - 1, day);
  wall.setUTCHours(hour, minute, second, 0);
  return wall.getTime() - seconds;
}

/** Offset of `zone` at `instant` (epoch ms), cached. */
export function offsetAt(zone: string, instant: number): number {
  const cache = zoneCache(zone);
  const dayOffset = spanOffset(zone, cache.days, Math.floor(instant / DAY_MS), DAY_MS);
  if (!Number.isNaN(dayOffset)) return dayOffset;
  const hourOffset = spanOffset(zone, cache.hours, Math.floor(instant / HOUR_MS), HOUR_MS);
  return Number.isNaN(hourOffset) ? exactOffsetMs(zone, instant) : hourOffset;
}

function spanOffset(zone: string, spans: Map<number, number>, index: number, size: number): number {
  let offset = spans.get(index);
  if (offset === undefined) {
    const start = index * size;
    const first = exactOffsetMs(zone, start);
    offset = first === exactOffsetMs(zone, start + size - 1) ? first : MIXED;
    if (spans.size >= MAX_CACHED) spans.clear();
    spans.set(index, offset);
  }
  return offset;
}

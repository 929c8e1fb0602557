// resolveZone: "local", IANA names (canonicalised), and clear errors otherwise.
import { describe, expect, it } from "vitest";
import { fingerprintZone, resolveZone } from "../runtime/schedule/resolve-zone.ts";
import { zoneOf } from "../runtime/host/build-status.ts";
import { ERR_TIMEZONE_INVALID } from "../runtime/schedule/schedule-errors.ts";

describe("resolveZone", () => {
  it("maps local to the machine's IANA zone", () => {
    expect(resolveZone("local")).toBe(new Intl.DateTimeFormat().resolvedOptions().timeZone);
    expect(resolveZone(" Local ")).toBe(resolveZone("local"));
  });

  it("accepts IANA names and returns Intl's canonical spelling", () => {
    expect(resolveZone("Europe/Berlin")).toBe("Europe/Berlin");
    expect(resolveZone("europe/berlin")).toBe("Europe/Berlin");
    expect(resolveZone("UTC")).toBe("UTC");
    expect(resolveZone("Australia/Lord_Howe")).toBe("Australia/Lord_Howe");
  });

  it("names a zone the IANA database renamed by its current name, however it was written (Intl on Node 20 answers the old one)", () => {
    expect(resolveZone("Asia/Kolkata")).toBe("Asia/Kolkata");
    expect(resolveZone("Asia/Calcutta")).toBe("Asia/Kolkata");
    expect(resolveZone("europe/kyiv")).toBe("Europe/Kyiv");
    expect(resolveZone("Europe/Kiev")).toBe("Europe/Kyiv");
    expect(resolveZone("America/Argentina/Buenos_Aires")).toBe("America/Argentina/Buenos_Aires");
    expect(resolveZone("Asia/Ho_Chi_Minh")).toBe("Asia/Ho_Chi_Minh");
  });

  it("keeps schedules' fingerprints on Intl's id (a stored next run survives the renaming), and shows them by the IANA name", () => {
    const before = new Intl.DateTimeFormat("en-US", { timeZone: "Asia/Kolkata" }).resolvedOptions().timeZone;
    expect(fingerprintZone(resolveZone("Asia/Kolkata"))).toBe(before);
    expect(fingerprintZone(resolveZone("Asia/Calcutta"))).toBe(before);
    expect(zoneOf(JSON.stringify({ zone: fingerprintZone("Asia/Kolkata") }))).toBe("Asia/Kolkata");
    expect(zoneOf(JSON.stringify({ zone: "Europe/Berlin" }))).toBe("Europe/Berlin");
  });

  it.each(["Mars/Olympus", "", "+01:00", "Europe/"])("rejects %j with ERR_TIMEZONE_INVALID", (name) => {
    let caught: (Error & { code?: string }) | undefined;
    try {
      resolveZone(name);
    } catch (err) {
      caught = err as Error & { code?: string };
    }
    expect(caught?.code).toBe(ERR_TIMEZONE_INVALID);
    expect(caught?.message).toMatch(/^taskhost schedule: time zone ".*" is invalid: use an IANA name/);
  });
});

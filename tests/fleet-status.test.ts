/** What `status` says about a fleet: hosts as contract §10 lists them, skew over a second, tasks the hosts disagree on. */
import { describe, expect, it } from "vitest";
import { stableHostId } from "../runtime/host/fleet-membership.ts";
import { hostsJson, versionWarnings } from "../runtime/host/fleet-status.ts";

const T0 = Date.UTC(2026, 0, 1, 12);

describe("fleet status", () => {
  it("lists every host with the contract's fields, and its skew only when over a second", () => {
    const hosts = [
      { id: "a", hostname: "box-a", pid: 10, startedAt: T0, lastHeartbeat: T0 + 5000, running: 2 },
      { id: "b", hostname: "box-b", pid: 20, startedAt: T0 + 1, lastHeartbeat: T0 + 4000, running: 0 },
    ];
    expect(hostsJson(hosts, new Map([["a", 900], ["b", -1500]]))).toEqual([
      { id: "a", hostname: "box-a", pid: 10, startedAt: "2026-01-01T12:00:00.000Z", lastHeartbeat: "2026-01-01T12:00:05.000Z", running: 2 },
      { id: "b", hostname: "box-b", pid: 20, startedAt: "2026-01-01T12:00:00.001Z", lastHeartbeat: "2026-01-01T12:00:04.000Z", running: 0, skewMs: -1500 },
    ]);
  });

  it("says per task which hosts run another version", () => {
    const warnings = versionWarnings([
      { taskId: "t", scheduleId: "t#a", ledger: "v2", hosts: [{ hostId: "a", fingerprint: "v2" }, { hostId: "b", fingerprint: "v1" }] },
      { taskId: "t", scheduleId: "t#b", ledger: "v2", hosts: [{ hostId: "a", fingerprint: "v2" }, { hostId: "b", fingerprint: "v1" }] },
      { taskId: "u", scheduleId: "u#a", ledger: "x", hosts: [{ hostId: "c", fingerprint: "y" }, { hostId: "d", fingerprint: "y" }] },
    ]);
    expect([...warnings.keys()]).toEqual(["t", "u"]);
    expect(warnings.get("t")).toBe(
      "hosts disagree on this task's version: b loaded another one and does not run it; a runs the ledger's version. Deploy the same task file to every host.",
    );
    expect(warnings.get("u")).toBe(
      "hosts disagree on this task's version: c, d loaded another one and do not run it; no live host has the ledger's version. Deploy the same task file to every host.",
    );
  });

  it("gives a host the same id across restarts, and two hosts of one project different ones", () => {
    const a = stableHostId("/srv/app", "/srv/app/config/fleet-1.yaml", "box");
    expect(a).toMatch(/^box-[0-9a-f]{8}$/);
    expect(stableHostId("/srv/app", "/srv/app/config/fleet-1.yaml", "box")).toBe(a);
    expect(stableHostId("/srv/app", "/srv/app/config/fleet-2.yaml", "box")).not.toBe(a);
  });
});

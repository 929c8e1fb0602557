import { describe, expect, it } from "vitest";
import { LeadTimes } from "../runtime/run/isolates/lead-times.ts";

describe("LeadTimes", () => {
  it("answers from a task's measured launches, per level, and forgets a removed task's", () => {
    const times = new LeadTimes();
    expect(times.get("a", "context")).toBe(1000);
    for (let i = 0; i < 10; i++) times.record("a", "context", 8);
    times.record("a", "task", 100);
    times.record("b", "context", 40);
    times.record("xa", "context", 40);
    expect(times.get("a", "context")).toBe(15); // 8 × 1.25 + 5
    expect(times.get("a", "task")).toBe(130);
    times.forget("a");
    expect(times.get("a", "context")).toBe(1000);
    expect(times.get("a", "task")).toBe(400);
    // Another task, and one whose id ends like it, keep theirs.
    expect(times.get("b", "context")).toBe(55);
    expect(times.get("xa", "context")).toBe(55);
  });
});

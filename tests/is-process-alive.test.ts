import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isProcessAlive } from "../runtime/util/is-process-alive.ts";

const stateOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.charAt(stat.lastIndexOf(")") + 2);
};

describe("isProcessAlive", () => {
  it("is true of a running process, false of one that ended, also while it is a zombie not yet reaped", async () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    const child = spawn("sleep", ["1"]);
    expect(isProcessAlive(child.pid!)).toBe(true);
    // The event loop held, Node cannot reap the child when it exits: it stays a zombie meanwhile.
    const deadline = Date.now() + 20_000;
    while (stateOf(child.pid!) !== "Z" && Date.now() < deadline) {
      /* spin */
    }
    expect(stateOf(child.pid!)).toBe("Z");
    expect(isProcessAlive(child.pid!)).toBe(false);
    await new Promise((resolve) => child.once("exit", resolve));
    expect(isProcessAlive(child.pid!)).toBe(false);
  });
});

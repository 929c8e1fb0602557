/** Spawns fleet-member.ts processes and collects what each says (tests and the bench). */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { REPO } from "./temp-project.ts";

export interface MemberEvent {
  ev: string;
  t: number;
  runId?: number;
  scheduledFor?: number;
  recorded?: string;
}

export interface Member {
  id: string;
  child: ChildProcess;
  events: MemberEvent[];
  exited: Promise<number | null>;
}

export function startMember(url: string, id: string, leaseMs: number, scheduleIds: readonly string[]): Member {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(REPO, "tests/support/fleet-member.ts"), url, id, String(leaseMs), ...scheduleIds], {
    cwd: REPO,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const member: Member = { id, child, events: [], exited: new Promise((resolve) => child.on("exit", (code) => resolve(code))) };
  let buffer = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      member.events.push(JSON.parse(buffer.slice(0, nl)) as MemberEvent);
      buffer = buffer.slice(nl + 1);
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => process.stderr.write(`[${id}] ${chunk.toString()}`));
  return member;
}

export const isReady = (m: Member) => m.events.some((e) => e.ev === "ready");

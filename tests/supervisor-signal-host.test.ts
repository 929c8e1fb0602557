import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const SUPERVISE = path.resolve("runtime/supervisor/supervise.sh");

// A signal sent to a host the shell has just forked used to be lost: between the fork and the
// exec the child is the shell, whose inherited trap catches it (dash then loses it at the exec,
// nearly every time), and setsid and Node's boot ignore SIGINT (a background job's). So a stop
// passed on to a host just (re)started never arrived, and the host ran on. signal_host waits
// until the host has titled itself (its first line, where it also takes signals). Real
// processes: a Node that titles itself stands in for the host.
const SCRIPT = `
. "$1"
has_proc=1
# Without /proc (not Linux), the child's arguments tell.
[ "$2" = ps ] && has_proc=0
trap : TERM INT
i=0
while [ $i -lt 10 ]; do
  "$4" -e 'process.title = "taskhost-host"; setTimeout(() => {}, 20000)' __host --config x &
  child=$!
  signal_host "$3"
  wait $child
  printf '%s ' $?
  i=$((i + 1))
done
`;

describe("supervise.sh passes a signal on to a host it has just started", () => {
  for (const way of ["proc", "ps"]) {
    for (const [signal, code] of [
      ["TERM", "143"],
      ["INT", "130"],
    ]) {
      it(`SIG${signal} reaches the host every time (${way === "proc" ? "its name in /proc" : "its title, by ps"})`, async () => {
        const t0 = Date.now();
        const { stdout } = await promisify(execFile)("sh", ["-c", SCRIPT, "sh", SUPERVISE, way, signal, process.execPath], { timeout: 90_000 });
        // Each Node ended by the signal, not by its timer's end (0) 20 s later.
        expect(stdout.trim().split(" ")).toEqual(Array(10).fill(code));
        expect(Date.now() - t0).toBeLessThan(30_000);
      });
    }
  }
});

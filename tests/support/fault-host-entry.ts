/**
 * A host process that imports the runtime first and starts the host (the same
 * `__host` code path `taskhost start` spawns, holding the lock itself) only when
 * a line arrives on stdin. The crash-loop test keeps the next one warm while the
 * current one runs, so 30 kill -9 rounds cost the host's start, not Node's.
 */
import { hostCommand } from "../../runtime/cli/host-command.ts";

process.stdin.once("data", () => {
  void hostCommand("config/config.yaml").then((code) => process.exit(code));
});
process.stdout.write("warm\n");

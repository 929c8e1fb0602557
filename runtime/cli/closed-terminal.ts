/**
 * A foreground host whose terminal closes gets SIGHUP and then EIO on every
 * write to it. Those writes are only the glance view (the log files have it
 * all): losing them must not crash the process mid-shutdown and leave its PID
 * file and socket behind.
 */
let installed = false;

export function survivesClosedTerminal(): void {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    // Always our own listener: one a pipe() added removes itself on the first error.
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EIO" || error.code === "EPIPE") return;
      throw error;
    });
  }
}

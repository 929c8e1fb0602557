import { chmod, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { TempProject } from "./temp-project.ts";

/** Scripts of the kind the Simple Scheduler runs: the scheduled time first, then the task's arguments. */
export const SCRIPTS: Record<string, string> = {
  "hello.py": 'import sys\nprint("python got", sys.argv[1], sys.argv[2:])\n',
  "hello.sh": 'echo "shell got $1 (${#} args)"\necho "to stderr" >&2\n',
  "fails.sh": 'echo "about to fail"\nexit 3\n',
};

export async function writeScripts(project: TempProject): Promise<void> {
  await mkdir(path.join(project.root, "scripts"), { recursive: true });
  for (const [name, body] of Object.entries(SCRIPTS)) {
    await writeFile(path.join(project.root, "scripts", name), body);
    await chmod(path.join(project.root, "scripts", name), 0o755);
  }
}

/**
 * Backfills on disk, one JSON file each in `data/backfills/`, replaced
 * atomically after every step: a host that restarts finds the ones still
 * running and carries on where they were.
 */
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { atomicWriteFile } from "../store/atomic-write-file.ts";
import type { BackfillJob } from "./backfill-job.ts";

/** Finished backfills kept for the list (the oldest go first). */
const KEEP_FINISHED = 50;

export class BackfillJobFiles {
  constructor(private readonly dir: string) {}

  async save(job: BackfillJob): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await atomicWriteFile(path.join(this.dir, `${job.id}.json`), Buffer.from(`${JSON.stringify(job, null, 2)}\n`));
  }

  /** Every backfill on disk, newest first; a file that cannot be read is reported and left alone. */
  async list(onError: (file: string, error: unknown) => void = () => {}): Promise<BackfillJob[]> {
    const names = (await readdir(this.dir).catch(() => [] as string[])).filter((name) => /^[\w-]+\.json$/.test(name));
    const jobs: BackfillJob[] = [];
    for (const name of names) {
      try {
        jobs.push(JSON.parse(await readFile(path.join(this.dir, name), "utf8")) as BackfillJob);
      } catch (error) {
        onError(path.join(this.dir, name), error);
      }
    }
    return jobs.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** Removes finished backfills beyond the newest KEEP_FINISHED. */
  async prune(): Promise<void> {
    const finished = (await this.list()).filter((job) => job.state !== "running");
    for (const job of finished.slice(KEEP_FINISHED)) await rm(path.join(this.dir, `${job.id}.json`), { force: true });
  }
}

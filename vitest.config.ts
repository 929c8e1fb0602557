import { readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/** The soaks: a minute or so each, which must not be the last files to start. */
const SOAKS = /\/(faults-crash-loop|fleet-ledger|ledger-writer-lock|e2e-commands|e2e-last-good-config)\.test\.ts$/;
/** Files that start hosts or other processes take seconds; the rest take milliseconds. */
const STARTS_PROCESSES = /\bTempProject\b|\bspawn\(|\bexecFile\(|\bfork\(/;

/**
 * Longest first, so that no long file starts last and runs alone at the end. Vitest orders by
 * the durations it cached on this machine; a clean clone (CI) has none, so there the soaks go
 * first, then files that start processes, then the unit files, which fill in at the end.
 */
class LongFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (file: string) => {
      if (SOAKS.test(file)) return 0;
      try {
        return STARTS_PROCESSES.test(readFileSync(file, "utf8")) ? 1 : 2;
      } catch {
        return 1;
      }
    };
    const ranked = sorted.map((spec, index) => ({ spec, index, rank: rank(spec.moduleId) }));
    return ranked.sort((a, b) => a.rank - b.rank || a.index - b.index).map(({ spec }) => spec);
  }
}

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // End-to-end tests start real hosts and worker threads; give them room.
    testTimeout: 90_000,
    hookTimeout: 60_000,
    // expect.poll's default (1 s) is shorter than a dashboard round trip on a loaded machine.
    expect: { poll: { timeout: 10_000 } },
    pool: "forks",
    // Most end-to-end time is spent waiting on the clock, not computing: three files at once
    // on two cores (the CI machine's size) beat two by ~15 % on a loaded machine.
    maxWorkers: 3,
    sequence: { sequencer: LongFirstSequencer },
  },
});

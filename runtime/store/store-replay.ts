/**
 * Opening replays `<path>.journal` onto the snapshot: every whole flush with
 * entries after the snapshot's sequence number, in order, stopping at the
 * first entry that is damaged, out of sequence or fails to apply. Entries the
 * snapshot already holds (a crash came after the snapshot was written and
 * before the journal was emptied) are skipped, so none is applied twice.
 */
import { rename } from "node:fs/promises";
import { readJournal, type JournalEntry } from "./store-journal.ts";
import { applyMutation } from "./store-mutations.ts";
import type { ResolvedSqlJsStoreOptions } from "./store-options.ts";
import type { SqlStatements } from "./store-sql.ts";

export interface Replayed {
  /** The sequence number of the last entry the database now holds. */
  seq: number;
  /** The journal had content: a snapshot should absorb it. */
  journalHadContent: boolean;
}

export async function replayJournal(
  sql: SqlStatements,
  options: ResolvedSqlJsStoreOptions,
  snapshotSeq: number,
  /** The database was just created: a journal found beside it is of another, deleted one. */
  created: boolean,
): Promise<Replayed> {
  const { journalPath, onWarning } = options;
  const contents = await readJournal(journalPath);
  if (contents.bytes === 0) return { seq: snapshotSeq, journalHadContent: false };

  /** Moves the journal aside for inspection (the snapshot after opening would empty it). */
  const keepAside = async (kind: string): Promise<string> => {
    const keptAs = `${journalPath}.${kind}-${Date.now()}`;
    return rename(journalPath, keptAs).then(
      () => `it was kept as ${keptAs}`,
      (error: unknown) => `it could not be kept aside (${(error as Error).message})`,
    );
  };

  if (created) {
    onWarning(
      `taskhost store: ${options.path} did not exist, so ${journalPath} (changes to a database that is gone) was not replayed; ` +
        `${await keepAside("orphan")}.`,
    );
    return { seq: snapshotSeq, journalHadContent: true };
  }

  const { entries, damage } = contents;
  const whole = wholeFlushes(entries);
  const stop = applyInOrder(sql, whole, snapshotSeq);
  if (stop.problem) {
    onWarning(
      `taskhost store: replayed ${journalPath} up to entry ${stop.seq} only: ${stop.problem}; ` +
        `later entries were not applied, ${await keepAside("corrupt")}.`,
    );
  } else if (damage && damage.validLinesAfter > 0) {
    onWarning(
      `taskhost store: ${journalPath} is damaged at byte ${damage.offset} (${damage.reason}); replayed the changes before it ` +
        `(up to entry ${stop.seq}) and ignored ${damage.validLinesAfter} entries after it; ${await keepAside("corrupt")}.`,
    );
  } else if (damage || whole.length < entries.length) {
    onWarning(
      `taskhost store: ignored the incomplete end of ${journalPath} (a flush cut short by a crash, never reported as saved); ` +
        `replayed up to entry ${stop.seq}.`,
    );
  }
  return { seq: stop.seq, journalHadContent: true };
}

/** The entries up to the last one that closes a flush. */
function wholeFlushes(entries: JournalEntry[]): JournalEntry[] {
  let end = entries.length;
  while (end > 0 && !entries[end - 1]!.commit) end -= 1;
  return entries.slice(0, end);
}

/** Applies each flush as one transaction; returns the last sequence number applied, and why it stopped early. */
function applyInOrder(sql: SqlStatements, entries: JournalEntry[], snapshotSeq: number): { seq: number; problem?: string } {
  let seq = snapshotSeq; // the last entry of the last whole flush applied
  let last = snapshotSeq; // the last entry applied, perhaps in a flush still open
  let inFlush = false;
  const abandon = (problem: string) => {
    if (inFlush) sql.db.exec("ROLLBACK TO replay; RELEASE replay");
    return { seq, problem };
  };
  for (const entry of entries) {
    if (entry.seq <= snapshotSeq) continue; // already in the snapshot
    if (entry.seq !== last + 1) return abandon(`entry ${entry.seq} (byte ${entry.offset}) does not follow entry ${last}`);
    if (!inFlush) sql.db.exec("SAVEPOINT replay");
    inFlush = true;
    try {
      applyMutation(sql, entry.mutation);
    } catch (error) {
      return abandon(`entry ${entry.seq} (byte ${entry.offset}) could not be applied (${(error as Error).message})`);
    }
    last = entry.seq;
    if (entry.commit) {
      sql.db.exec("RELEASE replay");
      inFlush = false;
      seq = last;
    }
  }
  return { seq };
}

/**
 * The write-ahead journal `<path>.journal`: the changes made since the last
 * snapshot, one entry a line, appended and fsynced by each flush.
 *
 * A line is `<crc32 of the body, 8 hex digits> <JSON body>\n`, and the body is
 * `{"s":<seq>,"c":<0|1>,"m":<mutation>}`: `s` counts up by one per entry
 * across the life of the database (a snapshot records the last one it holds),
 * and `c: 1` marks the last entry of a flush. A crash mid-append leaves a line
 * without its newline, with a wrong checksum, or a flush without its closing
 * entry; reading stops at the first such place, so only whole flushes count.
 */
import { open, readFile, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { fsyncDirectory, PRIVATE_FILE } from "./atomic-write-file.ts";
import { crc32 } from "./crc32.ts";
import { ERR_DB_READ, storeError } from "./store-errors.ts";
import { MUTATION_OPS, type Mutation } from "./store-mutations.ts";

/** An entry waiting for the next flush; the mutation is JSON already (callers may change their objects later). */
export interface PendingEntry {
  seq: number;
  mutationJson: string;
}

export interface JournalEntry {
  seq: number;
  /** The last entry of a flush: a replay applies whole flushes only. */
  commit: boolean;
  mutation: Mutation;
  /** Byte offset of the line, for messages. */
  offset: number;
}

export interface JournalContents {
  /** The readable entries, in file order, up to the first damaged line. */
  entries: JournalEntry[];
  /** The first line that is not a whole, valid entry. */
  damage?: {
    offset: number;
    reason: string;
    /** Valid lines after it: none means a torn end (a crash mid-append), some mean damage in the middle. */
    validLinesAfter: number;
  };
  bytes: number;
}

const NEWLINE = 0x0a;
const CRC_LENGTH = 8;

/** One flush's entries as journal lines; the last one closes the flush. */
export function encodeBatch(entries: readonly PendingEntry[]): Buffer {
  const lines = entries.map((entry, index) => {
    const body = Buffer.from(`{"s":${entry.seq},"c":${index === entries.length - 1 ? 1 : 0},"m":${entry.mutationJson}}`);
    return Buffer.concat([Buffer.from(`${crc32(body).toString(16).padStart(CRC_LENGTH, "0")} `), body, Buffer.from("\n")]);
  });
  return Buffer.concat(lines);
}

export async function readJournal(path: string): Promise<JournalContents> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { entries: [], bytes: 0 };
    throw storeError(ERR_DB_READ, `cannot read ${path} (${(error as Error).message}). Check that it is a file taskhost may read.`, error);
  }
  return parseJournal(bytes);
}

export function parseJournal(bytes: Buffer): JournalContents {
  const entries: JournalEntry[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const end = bytes.indexOf(NEWLINE, offset);
    const parsed = end === -1 ? { problem: "the last line has no end (cut short)" } : parseLine(bytes, offset, end);
    if ("problem" in parsed) {
      return { entries, damage: { offset, reason: parsed.problem, validLinesAfter: countValidLines(bytes, end) }, bytes: bytes.length };
    }
    entries.push(parsed);
    offset = end + 1;
  }
  return { entries, bytes: bytes.length };
}

function parseLine(bytes: Buffer, start: number, end: number): JournalEntry | { problem: string } {
  const bodyStart = start + CRC_LENGTH + 1;
  if (end < bodyStart || bytes[bodyStart - 1] !== 0x20) return { problem: "not a journal line" };
  const stored = bytes.toString("latin1", start, bodyStart - 1);
  const body = bytes.subarray(bodyStart, end);
  if (!/^[0-9a-f]{8}$/.test(stored) || Number.parseInt(stored, 16) !== crc32(body)) return { problem: "checksum mismatch" };
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch {
    return { problem: "not JSON" };
  }
  const { s, c, m } = (value ?? {}) as { s?: unknown; c?: unknown; m?: { op?: unknown } };
  if (!Number.isSafeInteger(s) || (s as number) < 1 || (c !== 0 && c !== 1) || typeof m?.op !== "string" || !MUTATION_OPS.has(m.op)) {
    return { problem: "not a journal entry" };
  }
  return { seq: s as number, commit: c === 1, mutation: m as Mutation, offset: start };
}

/** Whole, valid lines after the line ending at `lineEnd` (-1: that line had no end). */
function countValidLines(bytes: Buffer, lineEnd: number): number {
  let count = 0;
  for (let offset = lineEnd + 1; lineEnd !== -1 && offset < bytes.length; ) {
    const end = bytes.indexOf(NEWLINE, offset);
    if (end === -1) break;
    if (!("problem" in parseLine(bytes, offset, end))) count += 1;
    offset = end + 1;
  }
  return count;
}

/** The open journal file, appended to by flushes and emptied after each snapshot. */
export class JournalFile {
  readonly path: string;
  #handle: FileHandle;
  #bytes = 0;
  /**
   * An append failed (it may have left part of a flush behind) or the file
   * was removed under us: nothing more may be appended until a snapshot has
   * made the journal unnecessary and `reset()` started a clean one.
   */
  #broken = false;

  private constructor(path: string, handle: FileHandle) {
    this.path = path;
    this.#handle = handle;
  }

  /** Opens (creating) the journal for appending; the store snapshots before appending to one with content. */
  static async open(path: string): Promise<JournalFile> {
    const handle = await open(path, "a", PRIVATE_FILE);
    // A journal made by an older taskhost was world-readable.
    await handle.chmod(PRIVATE_FILE).catch(() => undefined);
    // A new file's name must survive a power cut too.
    await fsyncDirectory(dirname(path)).catch(async (error: unknown) => {
      await handle.close();
      throw error;
    });
    return new JournalFile(path, handle);
  }

  get bytes(): number {
    return this.#bytes;
  }

  get broken(): boolean {
    return this.#broken;
  }

  /** Appends `data` and waits until it is on disk. */
  async append(data: Buffer): Promise<void> {
    if (this.#broken) throw new Error(`${this.path} needs a snapshot before it can be appended to`);
    try {
      // Appending to a file someone deleted would "succeed" into nowhere.
      if ((await this.#handle.stat()).nlink === 0) throw new Error(`${this.path} was removed`);
      for (let written = 0; written < data.length; ) {
        written += (await this.#handle.write(data, written, data.length - written)).bytesWritten;
      }
      await this.#handle.datasync();
      this.#bytes += data.length;
    } catch (error) {
      this.#broken = true;
      throw error;
    }
  }

  /** Empties the journal (every entry in it is in the snapshot just written). */
  async reset(): Promise<void> {
    if (this.#broken) {
      // The old file may be gone or hold a partial flush: start a new one at the path.
      await this.#handle.close().catch(() => undefined);
      this.#handle = await open(this.path, "a", PRIVATE_FILE);
      await fsyncDirectory(dirname(this.path));
    }
    try {
      await this.#handle.truncate(0);
      await this.#handle.datasync();
    } catch (error) {
      this.#broken = true;
      throw error;
    }
    this.#bytes = 0;
    this.#broken = false;
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}

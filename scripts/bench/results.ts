/**
 * The bench's results: one row per (scenario, metric), one column per system,
 * rendered as a markdown table with peer/taskhost ratios.
 */
export type System = "taskhost" | "bree" | "croner";
export const SYSTEMS: readonly System[] = ["taskhost", "bree", "croner"];

export interface Row {
  scenario: string;
  metric: string;
  unit: string;
  values: Partial<Record<System, number>>;
  note?: string;
}

/** Survived (or refused) out of tried. */
export interface Tally {
  ok: number;
  of: number;
}

/**
 * One row of the adversarial table (npm run bench -- --faults): an attack on
 * taskhost and what came of it, counted in real runs. A column an attack has
 * nothing to say about stays undefined.
 */
export interface FaultRow {
  /** The issue 10 item it tries again ("1".."15"), or "kept" for what held already. */
  item: string;
  attack: string;
  kills?: Tally;
  /** Occurrences executed more than once (the task's own markers). */
  doubled?: number;
  /** Executions the task's code made that the ledger has no run for. */
  unrecorded?: number;
  /** Attacks that were refused or did no harm. */
  refused?: Tally;
  /** Whether every figure is what must hold. */
  held: boolean;
  /** What was measured, in a few words. */
  measured: string;
}

const tally = (t?: Tally) => (t ? `${t.ok}/${t.of}` : "–");

export class Results {
  readonly rows: Row[] = [];
  readonly notes: string[] = [];
  readonly faults: FaultRow[] = [];

  fault(row: FaultRow): void {
    this.faults.push(row);
    process.stderr.write(
      `  [faults] ${row.item} ${row.attack}: kills ${tally(row.kills)}, doubled ${row.doubled ?? "–"}, unrecorded ${row.unrecorded ?? "–"}, ` +
        `refused ${tally(row.refused)}, ${row.held ? "held" : "DID NOT HOLD"}: ${row.measured}\n`,
    );
  }

  record(system: System, scenario: string, metric: string, value: number, unit: string): void {
    let row = this.rows.find((r) => r.scenario === scenario && r.metric === metric);
    if (!row) this.rows.push((row = { scenario, metric, unit, values: {} }));
    row.values[system] = Number.isFinite(value) ? Math.round(value * 100) / 100 : value;
    process.stderr.write(`  [${system}] ${scenario}: ${metric} = ${Number.isFinite(value) ? value.toFixed(2) : String(value)} ${unit}\n`);
  }

  note(text: string): void {
    this.notes.push(text);
    process.stderr.write(`  note: ${text}\n`);
  }

  markdown(): string {
    const cell = (v: number | undefined, unit: string) => (v === undefined ? "–" : Number.isNaN(v) ? "n/a" : `${v} ${unit}`.trim());
    const ratio = (peer: number | undefined, ours: number | undefined) =>
      peer === undefined || ours === undefined || !Number.isFinite(peer) || !Number.isFinite(ours) || ours === 0 ? "–" : `${(peer / ours).toFixed(2)}×`;
    const lines = [
      "| scenario | metric | taskhost | bree | croner | bree / taskhost | croner / taskhost |",
      "|---|---|---|---|---|---|---|",
      ...this.rows.map((r) =>
        [r.scenario, r.metric, ...SYSTEMS.map((s) => cell(r.values[s], r.unit)), ratio(r.values.bree, r.values.taskhost), ratio(r.values.croner, r.values.taskhost)].join(" | "),
      ).map((l) => `| ${l} |`),
    ];
    if (this.rows.length === 0) lines.length = 0;
    if (this.faults.length) lines.push(...(lines.length ? [""] : []), ...this.faultTable());
    if (this.notes.length) lines.push("", ...this.notes.map((n) => `- ${n}`));
    return lines.join("\n");
  }

  /** The adversarial figures, one row per attack. */
  private faultTable(): string[] {
    const count = (n?: number) => (n === undefined ? "–" : String(n));
    return [
      "| issue 10 | attack | kills survived | executions doubled | executions unrecorded | attacks refused | held | measured |",
      "|---|---|---|---|---|---|---|---|",
      ...this.faults.map(
        (f) => `| ${f.item} | ${f.attack} | ${tally(f.kills)} | ${count(f.doubled)} | ${count(f.unrecorded)} | ${tally(f.refused)} | ${f.held ? "yes" : "**no**"} | ${f.measured.replaceAll("|", "\\|")} |`,
      ),
    ];
  }
}

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

export class Results {
  readonly rows: Row[] = [];
  readonly notes: string[] = [];

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
    if (this.notes.length) lines.push("", ...this.notes.map((n) => `- ${n}`));
    return lines.join("\n");
  }
}

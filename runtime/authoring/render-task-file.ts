/**
 * Writes the source of a task that runs one script, in the shape of the
 * README's template: frontmatter, the two imports, one class with one
 * decorated method calling `executeScript` with the occurrence's time first
 * (as the Simple Scheduler passes it). The result is an ordinary task file:
 * it type-checks under `npm run typecheck` and reads as if written by hand.
 */
import { yamlValue } from "./edit-frontmatter.ts";
import type { TaskDraft } from "./task-draft.ts";

/** `reports/nightly-export` -> `NightlyExport` (a valid class name). */
export function className(id: string): string {
  const base = id.split("/").at(-1) ?? id;
  const name = base
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join("");
  return /^[A-Za-z]/.test(name) ? name : `Task${name}`;
}

/** Frontmatter lines in the order the README lists the fields. */
function frontmatter(draft: TaskDraft): string {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(draft.fields)) {
    if (value !== null && value !== undefined) lines.push(`${key}: ${yamlValue(value)}`);
  }
  return `/*\n---\n${lines.join("\n")}${lines.length ? "\n" : ""}---\n*/\n`;
}

/** The source of `tasks/<id>.ts` for a validated draft. */
export function renderTaskFile(draft: TaskDraft): string {
  const expression = draft.schedule?.expression ?? "";
  const used = [
    draft.schedule?.decorator ?? "",
    ...["every", "cron"].filter((builder) => expression.startsWith(`${builder}(`)),
  ].filter(Boolean);
  const taskImports = [...used, "type TaskContext"];
  const decorator = draft.schedule ? `  @${draft.schedule.decorator}(${draft.schedule.argument})\n` : "";
  const script = JSON.stringify(draft.script);
  const args = ["ctx.scheduledFor.toISOString()", ...draft.args.map((arg) => JSON.stringify(arg))].join(", ");
  const when = draft.schedule ? "" : "  // No schedule: it runs when started by hand (`taskhost run`, the dashboard's Run now).\n";
  return `${frontmatter(draft)}import { ${taskImports.join(", ")} } from "taskhost";
import { executeScript } from "taskhost/helpers";

export default class ${className(draft.id)} {
${when}${decorator}  async run(ctx: TaskContext) {
    // The script gets the occurrence's time (ISO 8601, UTC) first, then its own arguments.
    const result = await executeScript(${script}, {
      args: [${args}],
      // The frontmatter's timeout ends the run first: ctx.signal aborts and the script is stopped.
      timeout: 20 * 24 * 3600,
      // Each line it prints goes to the run's log as it comes (stderr as warnings), kept even if the run is stopped.
      logOutput: true,
    });
    if (!result.success) throw new Error(\`\${result.command} failed: \${result.error}\`);
    ctx.log.info(\`\${result.command}: done in \${result.durationMs} ms\`);
  }
}
`;
}

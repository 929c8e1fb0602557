/** Small task files for end-to-end tests. */
export function taskSource(options: { schedule: string; body: string; frontmatter?: Record<string, unknown>; method?: string }): string {
  const fm = options.frontmatter
    ? `/*\n---\n${Object.entries(options.frontmatter)
        .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
        .join("\n")}\n---\n*/\n`
    : "";
  return `${fm}import { repeat, every, cron, type TaskContext } from "taskhost";

export default class {
  @repeat(${options.schedule})
  async ${options.method ?? "start"}(ctx: TaskContext) {
    ${options.body}
  }
}
`;
}

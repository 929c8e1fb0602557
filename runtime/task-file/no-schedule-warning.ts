/** Said of a task file with no scheduled method, at its default export (the class whose methods would carry one). */
export function noScheduleWarning(relFile: string, source: string): string {
  const line = source.split("\n").findIndex((l) => /^\s*export\s+default\b/.test(l)) + 1 || 1;
  return `${relFile}:${line}: no method has a schedule decorator (@repeat or @once); the task only runs with \`taskhost run\``;
}

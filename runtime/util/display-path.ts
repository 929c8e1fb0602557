import path from "node:path";

/** A file's path as messages show it: from the project root when inside it, else absolute. */
export function displayConfigPath(configPath: string, projectRoot: string): string {
  const rel = path.relative(projectRoot, configPath);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel.split(path.sep).join("/") : configPath;
}

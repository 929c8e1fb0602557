import { readFileSync } from "node:fs";
import path from "node:path";
import { isMap, isScalar, LineCounter, parseDocument, type Document } from "yaml";
import type { ConfigResolution, ConfigWarning } from "./config-options.ts";
import { ConfigError, displayConfigPath, resolveConfig } from "./resolve-config.ts";
import { unclosedOpener, yamlMessage } from "../util/yaml-error-place.ts";

/**
 * Reads `config/config.yaml` (or the file given with --config) and resolves it.
 * Used for the first load and for every hot reload; throws `ConfigError`
 * (ERR_CONFIG_INVALID) with file:line[:col] on any problem, so the caller can log
 * it and keep the configuration it already has.
 *
 * A missing file is not an error: every key is optional, so no file = defaults.
 * Reading is synchronous: the file is small and read rarely, and a sync read
 * keeps "reload" a single step with no interleaving.
 */
export function loadConfigFile(configPath: string, projectRoot: string, env?: NodeJS.ProcessEnv): ConfigResolution {
  const absPath = path.resolve(projectRoot, configPath);
  const secrets = readSecretsBeside(absPath, projectRoot);
  let source: string;
  try {
    source = readFileSync(absPath, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return resolveConfig(undefined, { projectRoot, configPath: absPath, env, secrets });
    const file = displayConfigPath(absPath, projectRoot);
    throw new ConfigError(`${file}: cannot read the config file (${code ?? String(err)}); check its permissions`, file, undefined, undefined);
  }
  return resolveConfigSource(source, { projectRoot, configPath: absPath, env, secrets });
}

/** config/secrets.yaml beside the config file (absent: nothing); only its `alerts:` is read from it. */
export function readSecretsBeside(configFile: string, projectRoot: string): unknown {
  const file = path.join(path.dirname(configFile), "secrets.yaml");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors[0]) {
    const shown = displayConfigPath(file, projectRoot);
    throw new ConfigError(`${shown}: YAML syntax error: ${yamlMessage(doc.errors[0].message)}; fix the file`, shown, undefined, undefined);
  }
  return doc.toJS();
}

/** The same as loadConfigFile, from text already in hand (tests, editors, `--check`). */
export function resolveConfigSource(
  source: string,
  context: { projectRoot: string; configPath: string; env?: NodeJS.ProcessEnv; secrets?: unknown },
): ConfigResolution {
  const file = displayConfigPath(context.configPath, context.projectRoot);
  // A fresh LineCounter per parse: it accumulates line starts across documents.
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    const noticed = lineCounter.linePos(syntax.pos[0]);
    const opener = unclosedOpener(source, syntax.message, syntax.pos[0]);
    const { line, col } = opener === undefined ? noticed : lineCounter.linePos(opener);
    const what =
      opener === undefined
        ? yamlMessage(syntax.message)
        : `the ${source[opener]} here is not closed (the parser noticed at line ${noticed.line}: ${yamlMessage(syntax.message)})`;
    throw new ConfigError(`${file}:${line}:${col}: YAML syntax error: ${what}; fix the file (indentation, quotes, colons)`, file, undefined, line, col);
  }
  const lineOf = (keyPath: string[]) => keyLine(doc, lineCounter, keyPath);
  const resolution = resolveConfig(doc.toJS(), { ...context, lineOf });
  if (doc.warnings.length === 0) return resolution;
  // YAML-level warnings (unknown tags, ...) are reported next to the unknown keys.
  const yamlWarnings: ConfigWarning[] = doc.warnings.map((w) => {
    const { line } = lineCounter.linePos(w.pos[0]);
    return { key: "", line, message: `${file}:${line}: YAML warning: ${yamlMessage(w.message)}` };
  });
  return Object.freeze({ config: resolution.config, warnings: Object.freeze([...yamlWarnings, ...resolution.warnings]) });
}

/** Line of the key `keyPath` (the key itself, where users look), or undefined. */
function keyLine(doc: Document, lineCounter: LineCounter, keyPath: string[]): number | undefined {
  let node: unknown = doc.contents;
  let line: number | undefined;
  for (const segment of keyPath) {
    if (!isMap(node)) return undefined;
    const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === segment);
    if (!pair) return undefined;
    const range = isScalar(pair.key) ? pair.key.range : undefined;
    line = range ? lineCounter.linePos(range[0]).line : undefined;
    node = pair.value;
  }
  return line;
}


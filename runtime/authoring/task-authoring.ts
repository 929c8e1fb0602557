/**
 * Task files created, edited, deleted and restored from outside an editor:
 * the dashboard's forms and `taskhost new`. The file stays the single source
 * of truth; the host's hot reload picks every change up like a save.
 */
import path from "node:path";
import { parseDocument } from "yaml";
import { findFrontmatter } from "../task-file/parse-task-file.ts";
import { renderTaskFile } from "./render-task-file.ts";
import { taskDraft, type TaskFormInput } from "./task-draft.ts";
import { checkTaskSource, editTaskSource, scheduleSites, type TaskEdit } from "./edit-task-source.ts";
import { parseScheduleExpression } from "./schedule-expression.ts";
import { previewSchedule, type Preview, type PreviewRequest } from "./schedule-preview.ts";
import { ScriptCatalog, type ScriptEntry } from "./script-catalog.ts";
import { TaskFiles, type TaskFileText, type TrashedFile } from "./task-files.ts";

export interface TaskAuthoringOptions {
  projectRoot: string;
  /** Read on every call: a config reload may move them. */
  tasksDir(): string;
  scriptDirs(): readonly string[];
  /** `scheduler.timezone`: the zone of tasks without their own. */
  defaultZone(): string;
}

export interface TaskDocument {
  id: string;
  /** Relative to the project root. */
  file: string;
  source: string;
  /** Send it back with an edit or a delete: they are refused if the file changed since. */
  version: string;
  /** The frontmatter as written (values unchecked); null when it cannot be read. */
  fields: Record<string, unknown> | null;
  schedules: Array<{ key: string; method: string; decorator: "repeat" | "once"; expression: string; text: string | null }>;
}

export class TaskAuthoring {
  private files: TaskFiles | null = null;

  constructor(private readonly options: TaskAuthoringOptions) {}

  private taskFiles(): TaskFiles {
    const dir = this.options.tasksDir();
    if (this.files?.dir !== dir) this.files = new TaskFiles(dir);
    return this.files;
  }

  private relFile(id: string): string {
    return path.relative(this.options.projectRoot, path.join(this.options.tasksDir(), `${id}.ts`)).split(path.sep).join("/");
  }

  private scriptCatalog(): ScriptCatalog {
    return new ScriptCatalog(this.options.projectRoot, this.options.scriptDirs());
  }

  async scripts(): Promise<{ folders: string[]; scripts: ScriptEntry[] }> {
    const catalog = this.scriptCatalog();
    return { folders: catalog.folders, scripts: await catalog.list() };
  }

  preview(request: PreviewRequest): Preview {
    return previewSchedule(request, this.options.defaultZone());
  }

  /** Writes `tasks/<id>.ts` for a script; refuses (with the field at fault) before writing anything invalid. */
  async create(input: TaskFormInput): Promise<TaskDocument> {
    const draft = taskDraft(input);
    const script = await this.scriptCatalog().resolve(draft.script);
    const source = renderTaskFile({ ...draft, script: script.path });
    checkTaskSource(source, this.relFile(draft.id), this.options.defaultZone());
    return this.document(await this.taskFiles().create(draft.id, source));
  }

  async show(id: string): Promise<TaskDocument> {
    return this.document(await this.taskFiles().read(id));
  }

  /** Applies `edit` to the file if it is still at `version`. */
  async edit(id: string, version: string, edit: TaskEdit): Promise<TaskDocument> {
    const files = this.taskFiles();
    const current = await files.read(id);
    const source = editTaskSource(current.source, this.relFile(id), edit, this.options.defaultZone());
    return this.document(await files.replace(id, source, version));
  }

  /** Moves the file to tasks/.trash/ if it is still at `version`. */
  remove(id: string, version: string): Promise<TrashedFile> {
    return this.taskFiles().trash(id, version);
  }

  trash(): Promise<TrashedFile[]> {
    return this.taskFiles().listTrash();
  }

  async restore(name: string): Promise<TaskDocument> {
    return this.document(await this.taskFiles().restore(name));
  }

  private document(text: TaskFileText): TaskDocument {
    const file = this.relFile(text.id);
    let fields: Record<string, unknown> | null = null;
    try {
      const block = findFrontmatter(text.source, file);
      const doc = block ? parseDocument(block.yaml) : null;
      const value: unknown = doc ? (doc.errors.length > 0 ? undefined : (doc.toJS() ?? {})) : {};
      if (typeof value === "object" && value !== null && !Array.isArray(value)) fields = value as Record<string, unknown>;
    } catch {
      // An unclosed block: the page shows the source and the loader's error.
    }
    const schedules = scheduleSites(text.source, file).map((site) => {
      let described: string | null = null;
      try {
        described = parseScheduleExpression(site.expression).text;
      } catch {
        // Written in a form the editor does not read (a variable, a call): shown as it is.
      }
      return { key: site.key, method: site.method, decorator: site.decorator, expression: site.expression, text: described };
    });
    return { id: text.id, file, source: text.source, version: text.version, fields, schedules };
  }
}

import { ERR_TASK_FRONTMATTER, ERR_TASK_NODE_VERSION } from "../errors.ts";

/** A warning about a task file: listed and logged, the task still loads. */
export interface TaskFileProblem {
  readonly file: string;
  /** 1-based line in the task file. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  readonly field?: string;
  /** Complete, starting with `file:line:`. */
  readonly message: string;
}

/** A problem that makes the task an error task. The message starts with `file:line:`. */
export class TaskFileError extends Error {
  /** What is wrong with `field`'s value, said of the field alone (for a form or a flag that set it): "must be ..., got ...". */
  problem?: string;

  constructor(
    message: string,
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly field?: string,
    readonly code: typeof ERR_TASK_FRONTMATTER | typeof ERR_TASK_NODE_VERSION = ERR_TASK_FRONTMATTER,
  ) {
    super(message);
    this.name = "TaskFileError";
  }

  /** `file:line: frontmatter field "name" <problem>` (`file:` alone when the line is not known). */
  static ofField(
    file: string,
    at: { line?: number; column?: number },
    name: string,
    problem: string,
    code?: typeof ERR_TASK_FRONTMATTER | typeof ERR_TASK_NODE_VERSION,
  ): TaskFileError {
    const where = at.line ? `${file}:${at.line}` : file;
    const error = new TaskFileError(`${where}: frontmatter field "${name}" ${problem}`, file, at.line ?? 1, at.column ?? 1, name, code);
    error.problem = problem;
    return error;
  }
}

/**
 * Helpers for task authors, importable as `taskhost/helpers` from any task
 * file (they are bundled into the task). Inside a run they find the current
 * task on their own: log lines carry its `[title]`, and commands and waits
 * stop when the run's signal aborts. They also work outside a run (scripts,
 * tests), where log lines go to the console.
 */
export { getProjectRoot } from "./project-root.ts";
export {
  ConfigError,
  ERR_CONFIG_NAME,
  ERR_CONFIG_PARSE,
  getConfigDir,
  getSavedConfigDir,
  getConfigValue,
  listConfigFiles,
  loadConfig,
  resolveConfigPath,
  saveConfig,
  type ConfigData,
} from "./config.ts";
export {
  currentTaskTitle,
  log,
  logExecutionResult,
  logStructuredData,
  logTaskComplete,
  logTaskError,
  logTaskStart,
  setScriptLogTitle,
  type HelperLogger,
  type HelperLogLevel,
  type LogFunction,
  type LoggableResult,
} from "./logging.ts";
export { sendAndLogNotification, sendNotification, type NotificationOptions, type NotificationResult } from "./notifications.ts";
export { sendEmail, smtpSettings, type EmailAttachment, type EmailOptions, type EmailResult, type SmtpSettings } from "./email.ts";
export {
  executeCommand,
  executeScript,
  processExecutionResults,
  type ExecuteOptions,
  type ExecutionResult,
  type ExecutionSummary,
} from "./execution.ts";
export {
  runSteps,
  waitForFile,
  WorkflowError,
  type RunStepsOptions,
  type SettledFile,
  type Step,
  type StepContext,
  type StepResult,
  type WaitForFileOptions,
  type WorkflowResult,
} from "./workflow.ts";
export {
  loadSqlJs,
  openSqliteDatabase,
  queryRows,
  saveSqliteDatabase,
  toCsv,
  type BindParams,
  type Database,
  type Row,
  type SqlJsStatic,
} from "./sqlite.ts";
export { toXlsx, type XlsxOptions } from "./xlsx.ts";
export { toPdf, type PdfOptions } from "./pdf.ts";
export { writeFileAtomic } from "./atomic-write.ts";
export { errorMessage, errorWithStack, sleep } from "./errors.ts";
export { resolveHostModule } from "./host-modules.ts";

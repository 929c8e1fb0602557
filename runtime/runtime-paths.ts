import { fileURLToPath } from "node:url";
import path from "node:path";

/** Where taskhost's own sources live (not the user's project, which may be elsewhere). */
export const RUNTIME_DIR = path.dirname(fileURLToPath(import.meta.url));
export const PACKAGE_DIR = path.dirname(RUNTIME_DIR);
/** What `import ... from "taskhost"` in a task file resolves to. */
export const TASK_API_ENTRY = path.join(RUNTIME_DIR, "api", "index.ts");
/** What `import ... from "taskhost/helpers"` resolves to. */
export const HELPERS_ENTRY = path.join(PACKAGE_DIR, "helpers", "index.ts");

// Lint (issue 12.7): typescript-eslint's recommended rules over the runtime, helpers,
// tasks, scripts and tests; `npm run lint` runs it and knip (unused files, exports
// and dependencies). .ci/run runs `npm run lint` before the tests.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

export default tseslint.config(
  // Built browser assets, and the CommonJS packages the dependency tests install from tarballs.
  { ignores: ["node_modules/**", "data/**", "logs/**", "tests/fixtures/deps/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // `_name` marks a parameter an interface requires and this implementation ignores.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Tests match aligned text columns ("a  b") literally; `{2}` would read worse.
      "no-regex-spaces": "off",
      // A `let` declared before the closure that assigns it (a timer, a handler) is read-before-assign by design.
      "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // The run realm calls task code of any shape (methods found at run time, a vm context's functions).
    files: ["runtime/run/isolates/run-realm.ts", "runtime/run/task-export.ts"],
    rules: { "@typescript-eslint/no-unsafe-function-type": "off" },
  },
  {
    // Tests read JSON answers loosely.
    files: ["tests/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    files: ["runtime/dashboard/public/**/*.js"],
    languageOptions: { globals: { ...globals.browser } },
  },
);

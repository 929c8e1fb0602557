#!/usr/bin/env bash
# Wrapper kept for users of the Python version's scripts/: same as `npx taskhost check-overdue`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node runtime/bin/taskhost.js check-overdue "$@"

#!/usr/bin/env bash
# The whole test suite, on a fresh machine of this kind: installs what it needs (npm packages, Docker engine,
# tools), then lint, typecheck, unit tests, build, and integration tests against the real engine.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci
bash scripts/ensure-docker.sh
echo '== lint' && npx eslint .
echo '== typecheck' && npm run typecheck --silent
echo '== build' && npm run build --silent
echo '== unit tests' && npx vitest run --project unit
echo '== integration tests (real Docker engine)'
bash scripts/test-image.sh >/dev/null
npx vitest run --project integration --no-file-parallelism

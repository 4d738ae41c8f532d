#!/usr/bin/env bash
# Runs the whole suite: the lint (floating promises), then from the build the unit tests in
# parallel, then the end-to-end tests one file at a time (they share one Docker Engine and start
# real servers and containers).
set -euo pipefail
cd "$(dirname "$0")/.."
# Wharf runs on Node 20; the SDK's notice that later SDK releases want Node 22 is noise in test
# output (package-lock.json pins the SDK the tests use).
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
npx eslint .
mapfile -t unit < <(find dist/src -name '*.test.js' | sort)
mapfile -t e2e < <(find dist/test -name '*.test.js' 2>/dev/null | sort)
node --test --test-reporter=spec "${unit[@]}"
if (( ${#e2e[@]} )); then
  node --test --test-reporter=spec --test-concurrency=1 "${e2e[@]}"
fi

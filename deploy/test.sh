#!/usr/bin/env bash
# Runs the whole test suite: type check, circular-import check, the native
# addon's tests under AddressSanitizer and UBSan (deploy/sanitize-native.sh),
# then vitest.
# Expects deploy/setup.sh to have run (the README's test command runs both).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ -x .tools/node/bin/node ] && export PATH="$root/.tools/node/bin:$PATH"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
npm run --silent typecheck
npm run --silent cycles
./deploy/sanitize-native.sh
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$out/results.json" "$@" || status=$?
# One plain closing line that any CI reader understands.
if [ -f "$out/results.json" ]; then
  node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`)' "$out/results.json"
fi
exit $status

#!/usr/bin/env bash
# Runs the native content addon's tests against a build of it with
# AddressSanitizer and UndefinedBehaviorSanitizer, so that a memory error
# or undefined behaviour in native/content fails the suite instead of
# corrupting a backup now and then. The sanitized addon is built in a
# temporary copy of native/content and loaded through FERRY_CONTENT_ADDON;
# the normal build is left alone. deploy/test.sh runs this first.
# Expects deploy/setup.sh to have run (Node 24 in .tools, gcc from build-essential).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ -x .tools/node/bin/node ] && export PATH="$root/.tools/node/bin:$PATH" npm_config_nodedir="$root/.tools/node"
asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
if [ ! -e "$asan" ] || [ ! -e "$ubsan" ]; then
  echo "sanitize-native: gcc has no libasan/libubsan here; install gcc's sanitizer runtimes (Debian: libasan8, libubsan1)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r native/content "$work/content"
rm -rf "$work/content/build"
# The package's own build command, pointed at the copy.
FERRY_NATIVE_DIR="$work/content" \
CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1" \
LDFLAGS="-fsanitize=address,undefined" \
  npm run --silent build:native >/dev/null
# Node itself is not instrumented: leaks it never frees at exit are not the addon's, and
# V8 installs its own SEGV handler.
export FERRY_CONTENT_ADDON="$work/content/build/Release/ferry_content.node"
export LD_PRELOAD="$asan:$ubsan"
export ASAN_OPTIONS="detect_leaks=0:handle_segv=0:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
npx vitest run --pool=forks services/repo/native-content.test.ts services/sources/local-fs.test.ts services/repo/blob-workers.test.ts services/storage/fs-direct.test.ts "$@"

#!/usr/bin/env bash
# The quick-start demo: backs up a sample directory into a local repository,
# restores it, and verifies the restore (diff -r) and the repository
# (check --read-data). Everything lives in ./.ferry-demo (removed first).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
demo="$root/.ferry-demo"
ferry="$root/bin/ferry"
rm -rf "$demo"
mkdir -p "$demo/sample/docs/nested" "$demo/sample/media"
echo "hello from ferry" > "$demo/sample/docs/readme.txt"
seq 1 200000 > "$demo/sample/docs/nested/numbers.txt"
head -c 30000000 /dev/urandom > "$demo/sample/media/random.bin"
ln -s docs/readme.txt "$demo/sample/link-to-readme"
cp "$demo/sample/media/random.bin" "$demo/sample/media/copy-of-random.bin"

export FERRY_REPO="$demo/repo" FERRY_PASSWORD="demo passphrase" FERRY_STATE_DIR="$demo/state"
"$ferry" init
"$ferry" backup "$demo/sample"
"$ferry" snapshots
"$ferry" restore "latest:$demo/sample" --target "$demo/restored"
diff -r --no-dereference "$demo/sample" "$demo/restored"
echo "restore matches the source (diff -r)"
"$ferry" check --read-data
echo "demo ok: repository in $demo/repo"

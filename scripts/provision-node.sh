#!/usr/bin/env bash
# Prints the bin directory of a Node.js release line (default 24, the current LTS), provisioning it once per user
# from the npm registry's node-linux-<arch> package (the registry is reachable where nodejs.org may not be).
# Used by .ci/run to run the suite on Node 24 as well as on the machine's own Node.
set -euo pipefail
major="${1:-24}"
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "provision-node: no Node.js package for $(uname -m)" >&2; exit 1 ;;
esac
cache="${AIO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/azure-import-orchestrator}/node"
version=$(npm view "node-linux-${arch}@${major}" version --json 2>/dev/null | tr -d '[]" \n' | tr ',' '\n' | sort -V | tail -1 || true)
# Offline: the newest release of that line already cached.
[ -n "$version" ] || version=$(ls "$cache" 2>/dev/null | grep -E "^${major}\." | sort -V | tail -1 || true)
[ -n "$version" ] || { echo "provision-node: node-linux-${arch}@${major} is neither in the npm registry nor cached in $cache" >&2; exit 1; }
dir="$cache/$version"
if [ ! -x "$dir/bin/node" ]; then
  echo "[provision] Node.js $version from the npm registry (node-linux-${arch}) ..." >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-${arch}@${version}" >/dev/null && tar xzf ./*.tgz)
  mkdir -p "$cache"
  rm -rf "$dir.partial" && mv "$tmp/package" "$dir.partial" && mv "$dir.partial" "$dir"
fi
"$dir/bin/node" -v >/dev/null
echo "$dir/bin"

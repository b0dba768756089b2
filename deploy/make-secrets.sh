#!/bin/sh
# Creates the Docker secrets docker-compose.yml expects, under data/compose-secrets/ (gitignored), mode 0600.
# Existing files are kept. Usage: sh deploy/make-secrets.sh [console-user]   (prompts for that user's password)
set -eu
cd "$(dirname "$0")/.."
dir=data/compose-secrets
umask 077
mkdir -p "$dir"
new() { [ -e "$dir/$1" ] && { echo "kept    $dir/$1"; return 1; }; echo "created $dir/$1"; }
if new payload-keys.json; then
  node -e 'const k=require("crypto").randomBytes(32).toString("base64");process.stdout.write(JSON.stringify({current:"k1",keys:{k1:k}},null,2)+"\n")' > "$dir/payload-keys.json"
fi
if new codec-server-token; then node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64url")+"\n")' > "$dir/codec-server-token"; fi
if new postgres-password; then node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("base64url"))' > "$dir/postgres-password"; fi
if new console-users.json; then
  entry="$(npx tsx console/hash-password.ts --user "${1:-operator}" --role operator)"
  printf '{ "users": [ %s ] }\n' "$entry" > "$dir/console-users.json"
fi
# The project's containers run as node (uid 1000) and insist on mode 0600 for key files: the owner must be uid 1000.
chmod 600 "$dir"/payload-keys.json "$dir"/codec-server-token "$dir"/console-users.json
if [ "$(id -u)" = 0 ]; then chown 1000:1000 "$dir"/payload-keys.json "$dir"/codec-server-token "$dir"/console-users.json; fi
# PostgreSQL (uid 999) and the Temporal server (uid 1000) both read the DB password; the 0700 directory guards it here.
chmod 644 "$dir"/postgres-password
chmod 700 "$dir"
echo "Back up $dir/payload-keys.json: losing it makes every encrypted history unreadable."

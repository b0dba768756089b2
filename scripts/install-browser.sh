#!/usr/bin/env bash
# Installs Debian's Chromium for the console browser tests (test/console-browser.test.ts).
# Idempotent: prints nothing and exits 0 when /usr/bin/chromium is already there. No browser download by npm.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "install-browser: $CHROMIUM is missing and this is not root (no sudo); install the 'chromium' package" >&2
    exit 1
  fi
fi

echo "install-browser: installing Debian chromium (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
if [ ! -x "$CHROMIUM" ]; then
  echo "install-browser: apt-get finished but $CHROMIUM is still missing" >&2
  exit 1
fi
echo "install-browser: $("$CHROMIUM" --version 2>/dev/null || echo chromium) installed" >&2

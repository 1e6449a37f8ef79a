#!/usr/bin/env bash
# Install Debian packages that are missing (as root, or with sudo), e.g. `scripts/apt-ensure.sh chromium wrk`.
# Used by `make test` (chromium, for the consumer-page browser test) and `make bench BENCH=api` (wrk).
# Exits 0 without doing anything when every named command is already there.
set -euo pipefail
missing=()
for pkg in "$@"; do
    cmd="$pkg"
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "apt-ensure: ${missing[*]} missing and no apt-get here; install them by hand" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "apt-ensure: ${missing[*]} missing; run as root or install them by hand" >&2; exit 1; fi
fi
echo "apt-ensure: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null 2>&1
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

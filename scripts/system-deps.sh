#!/usr/bin/env bash
# Debian packages the project needs beyond its Python wheels, installed when missing.
#   runtime: what forms/SYSTEM_DEPS.txt lists (WeasyPrint's Pango, the CJK fonts, ffprobe)
#   --test (default here): also ffmpeg (test videos), poppler-utils
#   (reading PDFs back), openssl (a test's certificate), chromium + its driver (page tests)
# MediaInfo ships inside the pymediainfo wheel, so it is not installed here.
#
# Idempotent and quiet: does nothing when everything is present; installs with apt-get only
# as root on Debian/Ubuntu, and otherwise says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:---test}
wanted=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' forms/SYSTEM_DEPS.txt | awk '{print $1}')
if [ "$mode" = "--test" ]; then
  wanted="$wanted ffmpeg poppler-utils openssl chromium chromium-driver"
fi

missing=()
for pkg in $wanted; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  # Refresh the package lists only when apt has none yet (a fresh container), not every run.
  if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e '^lock$' -e '^partial$' || true)" ]; then
    apt-get update -qq >/dev/null
  fi
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    # Stale lists (a package moved on the mirror): refresh once and retry.
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  exit 0
fi

echo "missing Debian packages: ${missing[*]} (install them with apt-get as root)" >&2
exit 1

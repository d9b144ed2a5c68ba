#!/usr/bin/env bash
# System packages the tests and benches need beyond the Python wheels: ffmpeg (ffmpeg builds
# the test videos, ffprobe is the bench's yardstick).  MediaInfo itself ships inside the
# pymediainfo wheel, so it is not installed here.
#
# Idempotent and quiet: does nothing when the tools are present; installs with apt-get only
# when running as root on a Debian/Ubuntu system, and otherwise says what to install.
set -euo pipefail

missing=()
for tool in ffmpeg ffprobe; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  # Refresh the package lists only when apt has none yet (a fresh container), not every run.
  if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e '^lock$' -e '^partial$' || true)" ]; then
    apt-get update -qq >/dev/null
  fi
  if ! apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null 2>&1; then
    # Stale lists (package moved or removed from the mirror): refresh once and retry.
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null
  fi
  exit 0
fi

echo "missing: ${missing[*]}; install ffmpeg (e.g. 'sudo apt-get install ffmpeg' or 'brew install ffmpeg')" >&2
exit 1

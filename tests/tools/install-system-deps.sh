#!/usr/bin/env bash
# Debian packages the test suite drives as a person would: speech synthesis and
# audio tools for fixtures, ffmpeg for format fixtures, Chromium for pages.
# Installs only what is missing; needs root (CI and the dev machines run as root).
set -euo pipefail
declare -A needs=([espeak-ng]=espeak-ng [sox]=sox [ffmpeg]=ffmpeg [chromium]=chromium)
missing=()
for cmd in "${!needs[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${needs[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing system packages (install them as root): ${missing[*]}" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null

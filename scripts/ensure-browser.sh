#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium (and a font) when missing and we can (root with
# apt-get): the HTML report tests render mcuq's report in a real browser and check the
# screenshot. Otherwise explains how; those tests then skip.
set -u
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if command -v fc-list >/dev/null 2>&1; then
  [ -n "$(fc-list 2>/dev/null | head -1)" ] || need+=(fonts-dejavu-core)
elif [ ! -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  need+=(fonts-dejavu-core)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "mcuq: installing ${need[*]} (Debian packages)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  exit $?
fi
echo "mcuq: ${need[*]} missing; the HTML report's browser test will be skipped."
echo "      install with: sudo apt-get update && sudo apt-get install --no-install-recommends ${need[*]}"
exit 0

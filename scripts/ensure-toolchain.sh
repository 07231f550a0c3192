#!/usr/bin/env bash
# Installs Debian's Cortex-M cross compiler, newlib and QEMU when they are missing and we can
# (root with apt-get). Otherwise explains how; the tests that need them then skip.
set -u
need=()
command -v arm-none-eabi-gcc >/dev/null 2>&1 || need+=(gcc-arm-none-eabi)
[ -e /usr/lib/arm-none-eabi/newlib/thumb/v7e-m+fp/hard/librdimon.a ] || need+=(libnewlib-arm-none-eabi)
command -v qemu-system-arm >/dev/null 2>&1 || need+=(qemu-system-arm)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "mcuq: installing ${need[*]} (Debian packages)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  exit $?
fi
echo "mcuq: ${need[*]} missing; Cortex-M tests will be skipped."
echo "      install with: sudo apt-get update && sudo apt-get install --no-install-recommends ${need[*]}"
exit 0

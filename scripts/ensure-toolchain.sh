#!/usr/bin/env bash
# Installs Debian's Cortex-M cross compiler, newlib, its C++ library (TFLite Micro projects)
# and QEMU when they are missing and we can (root with apt-get). Otherwise explains how; on a
# user's machine the tests that need them then skip. Under CI (CI=true) a toolchain that cannot
# be installed is an error (exit 1): every Cortex-M check must run there, none may be skipped.
set -u
ci=0
case "${CI:-}" in true|TRUE|True|1|yes) ci=1 ;; esac
need=()
command -v arm-none-eabi-gcc >/dev/null 2>&1 || need+=(gcc-arm-none-eabi)
[ -e /usr/lib/arm-none-eabi/newlib/thumb/v7e-m+fp/hard/librdimon.a ] || need+=(libnewlib-arm-none-eabi)
# C++ library (headers + libstdc++ for newlib): TFLite Micro projects need it
[ -e /usr/lib/arm-none-eabi/newlib/thumb/v7e-m+fp/hard/libstdc++_nano.a ] || need+=(libstdc++-arm-none-eabi-newlib)
command -v qemu-system-arm >/dev/null 2>&1 || need+=(qemu-system-arm)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "mcuq: installing ${need[*]} (Debian packages)"
  if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; then
    exit 0
  fi
  echo "mcuq: installing ${need[*]} failed" >&2
  exit 1
fi
if [ "$ci" = 1 ]; then
  echo "mcuq: ${need[*]} missing and not installable here (needs root and apt-get); CI=true: failing" >&2
  echo "      install with: sudo apt-get update && sudo apt-get install --no-install-recommends ${need[*]}" >&2
  exit 1
fi
echo "mcuq: ${need[*]} missing; Cortex-M tests will be skipped."
echo "      install with: sudo apt-get update && sudo apt-get install --no-install-recommends ${need[*]}"
exit 0

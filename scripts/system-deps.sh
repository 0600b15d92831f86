#!/usr/bin/env bash
# Installs the Debian packages the test suite uses as oracles and fixture builders.
# osslsigncode must be >= 2.9 (extract-data, -ignore-crl): on Debian 12 that is bookworm-backports.
# Without root or apt-get it only reports what is missing; the tests that need a tool skip with a reason.
set -euo pipefail
need=()
command -v osslsigncode >/dev/null && osslsigncode --version 2>/dev/null | grep -qE 'osslsigncode (2\.(9|[1-9][0-9])|[3-9])' || need+=(osslsigncode)
command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(mingw-w64)
command -v openssl >/dev/null || need+=(openssl)
# A real PKCS#11 token for the signing tests (SoftHSM2) and pkcs11-tool (opensc) to load it.
command -v softhsm2-util >/dev/null || need+=(softhsm2)
command -v pkcs11-tool >/dev/null || need+=(opensc)
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  [ ${#need[@]} -eq 0 ] || echo "note: missing ${need[*]}; tests that need them will be skipped (install them as root to run all tests)." >&2
  bash "$here/wine-deps.sh" || true
  exit 0
fi
if [ ${#need[@]} -eq 0 ]; then
  bash "$here/wine-deps.sh" || true
  exit 0
fi
codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
if [ "$codename" = bookworm ] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "deb http://deb.debian.org/debian bookworm-backports main" > /etc/apt/sources.list.d/backports.list
fi
apt-get update -qq
for pkg in "${need[@]}"; do
  if [ "$pkg" = osslsigncode ] && [ "$codename" = bookworm ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports osslsigncode >/dev/null
  else
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
  fi
done
# Wine and NSIS for the end-to-end installer test: never fails this script (the test skips).
bash "$here/wine-deps.sh" || true

#!/usr/bin/env bash
# Wine (64- and 32-bit) and NSIS for tests/integration/test_nsis_wine.py (../shared/docs/wine.md 1).
# Never fails the caller: whatever cannot be installed is reported as a note and the test skips
# with the reason. 32-bit Wine is Debian's wine32:i386 (multiarch), which almost every real
# installer (an x86 NSIS stub) needs; multiarch wants identical amd64/i386 library versions, so
# when apt reports unmet :i386 dependencies and INSPECTOR_ALLOW_DIST_UPGRADE=1 (.ci/run sets it on
# throwaway CI machines) the amd64 side is upgraded to the archive's versions and the install
# retried. If the i386 package index cannot even be fetched, the i386 architecture is removed
# again so apt on this machine keeps working. INSPECTOR_NO_WINE=1 skips all of this.
set -uo pipefail
note() { echo "note (wine): $*; tests/integration/test_nsis_wine.py will skip what needs it." >&2; }
[ "${INSPECTOR_NO_WINE:-0}" = 1 ] && exit 0
wine32_loader=/usr/lib/wine/wine  # Debian's 32-bit loader, from wine32:i386
have() { command -v makensis >/dev/null && command -v wine >/dev/null && [ -x /usr/lib/wine/wine64 ]; }
if have && [ -x "$wine32_loader" ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
  note "wine, wine64, wine32:i386 or nsis missing and no root/apt-get to install them"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt_install() { timeout 900 apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
start=$SECONDS
err="$(mktemp)"
trap 'rm -f "$err"' EXIT
if ! have; then
  apt_install nsis wine wine64 || { timeout 300 apt-get update -qq && apt_install nsis wine wine64; } \
    || { note "apt-get could not install nsis wine wine64"; exit 0; }
fi
if [ "$(dpkg --print-architecture)" != amd64 ]; then
  note "32-bit Wine through multiarch is only set up on amd64 hosts"
fi
[ -x "$wine32_loader" ] || [ "$(dpkg --print-architecture)" != amd64 ] || {
  added=0
  if ! dpkg --print-foreign-architectures | grep -qx i386; then dpkg --add-architecture i386; added=1; fi
  if ! timeout 300 apt-get update -qq 2>"$err"; then
    note "apt-get update failed with i386 enabled ($(grep -m1 '^E:' "$err" || echo 'see apt output'))"
    if [ "$added" = 1 ] && ! dpkg-query -W -f '${Architecture}\n' 2>/dev/null | grep -qx i386; then
      dpkg --remove-architecture i386 && timeout 300 apt-get update -qq || true
    fi
    exit 0
  fi
  if ! apt_install wine32:i386 2>"$err"; then
    if [ "${INSPECTOR_ALLOW_DIST_UPGRADE:-0}" = 1 ]; then
      echo "wine32:i386 has unmet dependencies; upgrading amd64 libraries to the archive's versions (wine.md 1)" >&2
      timeout 600 apt-get -y -qq dist-upgrade >/dev/null && apt_install wine32:i386 \
        || note "wine32:i386 still not installable after dist-upgrade"
    else
      note "wine32:i386 not installable ($(grep -m1 '^E:' "$err" || echo 'unmet dependencies')); INSPECTOR_ALLOW_DIST_UPGRADE=1 lets this script upgrade the amd64 libraries first"
    fi
  fi
}
echo "wine-deps: $((SECONDS - start)) s of apt-get" >&2
exit 0

#!/usr/bin/env bash
# Creates (or refreshes) the project's virtual environment in .venv with pinned versions.
# Sourced by scripts/demo and scripts/test; safe to run on its own.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${INSPECTOR_VENV:-$here/.venv}"
py="${PYTHON:-python3}"

if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: $py is missing or older than 3.11; install Python 3.11+ and retry." >&2
  exit 2
fi
if [ ! -x "$venv/bin/python" ]; then
  if ! "$py" -m venv "$venv" 2>/dev/null; then
    # Debian ships venv/ensurepip separately.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "installing python3-venv (Debian splits it from python3)..." >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      rm -rf "$venv"; "$py" -m venv "$venv"
    else
      echo "error: '$py -m venv' failed; on Debian run: sudo apt-get install python3-venv" >&2
      exit 2
    fi
  fi
fi
stamp="$venv/.installed-$(cat "$here/pyproject.toml" "$here/constraints.txt" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  log="$(mktemp)"
  if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check -c "$here/constraints.txt" -e "$here[dev,bench,fleet]" >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"
    echo "error: installing the project into $venv failed (output above)" >&2
    exit 2
  fi
  rm -f "$log"
  rm -f "$venv"/.installed-*; touch "$stamp"
fi

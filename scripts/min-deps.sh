#!/usr/bin/env bash
# Proves the dependency floors in pyproject.toml: installs every direct dependency at its declared
# minimum ("pkg>=X" installed as "pkg==X") in a separate virtual environment and runs a quick CLI
# smoke subset (help of every command, exit codes, the CLI unit tests). Takes about a minute once
# the packages are cached. Run by scripts/test; INSPECTOR_NO_MIN_DEPS=1 skips it.
# Usage: scripts/min-deps.sh [extra pytest args]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
[ "${INSPECTOR_NO_MIN_DEPS:-0}" = 1 ] && { echo "min-deps: skipped (INSPECTOR_NO_MIN_DEPS=1)"; exit 0; }
py="${PYTHON:-python3}"
venv="${INSPECTOR_MIN_VENV:-$here/.venv-min}"
# "name==floor" for each entry of [project].dependencies; a dependency without a floor is an error.
floors="$("$py" - <<'PY'
import re, sys, tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
for dep in deps:
    m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*>=\s*([^,;\s]+)\s*(?:,.*)?", dep)
    if m is None:
        sys.exit(f"min-deps: {dep!r} has no '>=' floor; declare one")
    print(f"{m.group(1)}=={m.group(2)}")
PY
)"
# The test runner and the test oracles (signify) at the versions the suite pins (constraints.txt).
tools="$(grep -iE '^(pytest|pluggy|iniconfig|hypothesis|sortedcontainers|packaging|signify)==' constraints.txt)"
stamp="$venv/.installed-$(printf '%s\n%s\n' "$floors" "$tools" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  rm -rf "$venv"
  "$py" -m venv "$venv"
  log="$(mktemp)"
  # shellcheck disable=SC2086 # one requirement per word
  if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check $floors $tools >"$log" 2>&1 \
      || ! "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e . >>"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"
    echo "error: installing the declared minimum versions failed (output above)" >&2
    exit 1
  fi
  rm -f "$log"
  touch "$stamp"
fi
echo "== min-deps: $(echo $floors)"
exec "$venv/bin/python" -m pytest -p no:cacheprovider -q \
  tests/unit/inspector tests/unit/policy/test_events_read.py tests/test_readme.py "$@"

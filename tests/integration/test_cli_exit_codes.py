"""README's exit-code table is true: every documented code, produced by the real command line.

Each scenario runs the installed ``inspector`` console script in its own process. Digests printed
are compared with hashlib (an independent implementation), never with the code under test.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.support.sessionkit import child_env

INSPECTOR = str(Path(sys.executable).parent / "inspector")
PKI = PROJECT_ROOT / "fixtures" / "pki"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [INSPECTOR, *args],
        cwd=cwd,
        env=env or child_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _documented_codes() -> set[int]:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(m) for m in re.findall(r"^\| (\d+) \|", section, flags=re.MULTILINE)}


SCENARIOS = {0, 1, 2, 3, 4, 5, 70}


def test_every_documented_code_has_a_scenario() -> None:
    assert _documented_codes() == SCENARIOS


def _files(tmp_path: Path) -> tuple[Path, Path]:
    good = tmp_path / "good.bin"
    good.write_bytes(b"inspector exit codes\n")
    other = tmp_path / "other.bin"
    other.write_bytes(b"not in the catalog\n")
    return good, other


def test_0_success(tmp_path: Path) -> None:
    good, _ = _files(tmp_path)
    res = run("hash", str(good), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert hashlib.sha256(good.read_bytes()).hexdigest().upper() in res.stdout
    assert "1 file hashed" in res.stdout


def test_1_verification_failed(tmp_path: Path) -> None:
    good, other = _files(tmp_path)
    cat = tmp_path / "app.cat"
    assert run("catalog", "build", str(good), "-o", str(cat), cwd=tmp_path).returncode == 0
    signed = run(
        "sign", str(cat), "--cert", str(PKI / "leaf.pem"), "--key", str(PKI / "leaf.key.pem"),
        "--chain", str(PKI / "issuing-ca.pem"), cwd=tmp_path,
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    roots = ("--roots", str(PKI / "root-ca.pem"))
    ok = run("verify", str(cat), str(good), *roots, cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    res = run("verify", str(cat), str(good), str(other), *roots, cwd=tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    # Issue 11 item 12: a file that does not exist is bad input (3), not a failed check (1).
    missing = run("verify", str(cat), str(good), str(tmp_path / "typo.bin"), *roots, cwd=tmp_path)
    assert missing.returncode == 3, missing.stdout + missing.stderr
    assert "typo.bin: no such file or folder; check the path" in missing.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("hash", "-j", "-1", "{good}"),
        ("catalog", "build", "{good}", "-o", "x.cat", "-j", "-1"),
        ("verify", "x.cat", "{good}", "-j", "-1"),
        ("sign", "{good}"),
        ("scan", ".", "-out", "list", "-out", "cat"),
        ("scan", ".", "-out", "zip"),
        ("start", ".", "--sources", "bogus"),
        ("hash", "--no-such-option", "{good}"),
        ("catalog", "build", "{good}", "-o", "x.cat", "--catalog-attr", "no-colons"),
        ("scan", ".", "-en", "utf8", "-name", "x.cat"),
    ],
)
def test_2_bad_options(tmp_path: Path, args: tuple[str, ...]) -> None:
    good, _ = _files(tmp_path)
    res = run(*(a.format(good=good) for a in args), cwd=tmp_path)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "x.cat").exists()


def test_3_bad_input_keeps_the_rest(tmp_path: Path) -> None:
    good, _ = _files(tmp_path)
    res = run("hash", str(tmp_path / "typo.bin"), str(good), cwd=tmp_path)
    assert res.returncode == 3, res.stderr
    assert hashlib.sha256(good.read_bytes()).hexdigest().upper() in res.stdout
    assert "may have been deleted" not in res.stderr
    assert "typo.bin: no such file or folder; check the path" in res.stderr


def test_4_environment(tmp_path: Path) -> None:
    good, _ = _files(tmp_path)
    res = run("catalog", "build", str(good), "-o", "/proc/inspector-exit-codes.cat", cwd=tmp_path)
    assert res.returncode == 4, res.stdout + res.stderr
    assert "cannot create a file in /proc" in res.stderr


def test_5_degraded_recording_writes_its_outputs(tmp_path: Path) -> None:
    """Without fanotify (not root, or root without CAP_SYS_ADMIN) a recording is degraded."""
    root = tmp_path / "root"
    root.mkdir()
    env = child_env()
    env["INSPECTOR_STATE_DIR"] = str(tmp_path / "state")
    prefix: list[str] = []
    if IS_ROOT:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("setpriv (util-linux) is needed to drop CAP_SYS_ADMIN as root")
        prefix = [setpriv, "--bounding-set=-sys_admin"]
    started = subprocess.run(
        [*prefix, INSPECTOR, "start", str(root), "--sources", "auto"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    (root / "app.dll").write_bytes(b"MZ not really")
    listing = tmp_path / "files.txt"
    res = run("stop", str(root), "-out", "list", "-listpath", str(listing), cwd=tmp_path, env=env)
    assert res.returncode == 5, res.stdout + res.stderr
    assert "degraded: fanotify unavailable" in res.stderr
    assert listing.read_text().splitlines() == [str(root / "app.dll")]


BUG = """
import sys
import inspector.cli.commands_hash as commands

def broken(*args, **kwargs):
    raise ZeroDivisionError("a planted bug")

commands.stream_inputs = broken
from inspector.cli import main
sys.argv[0] = "inspector"
main()
"""


@pytest.mark.parametrize("debug", [False, True])
def test_70_internal_error(tmp_path: Path, debug: bool) -> None:
    """A real process whose hashing pipeline has a planted bug: 70, one line and a hint."""
    good, _ = _files(tmp_path)
    args = ["hash", str(good), *(["--debug"] if debug else [])]
    res = subprocess.run(
        [sys.executable, "-c", BUG, *args],
        cwd=tmp_path, env=child_env(), capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert res.returncode == 70, res.stderr
    assert "internal error (in hash): ZeroDivisionError: a planted bug" in res.stderr
    if debug:
        assert "Traceback (most recent call last)" in res.stderr
    else:
        assert "Traceback" not in res.stderr
        assert "--debug" in res.stderr

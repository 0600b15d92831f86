"""Hostile inputs given to the real command line (issue 11 items 8 and 9).

FIFOs used to hang ``catalog show``, ``verify``, ``policy compile/show`` and ``makecat``, and
``/dev/zero`` used to be read until memory ran out. One bad argument (an over-long or unreadable
name) used to stop a whole batch. Each command runs in its own process with a timeout and an
address-space limit, so a regression fails the test instead of hanging or exhausting the machine.
Digests of the files that must still be processed are checked against hashlib.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.sessionkit import child_env

INSPECTOR = str(Path(sys.executable).parent / "inspector")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
MEMORY_LIMIT = 2 * 1024**3


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run(
    *args: str, cwd: Path, prefix: tuple[str, ...] = (), timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, INSPECTOR, *args],
        cwd=cwd, env=child_env(), capture_output=True, text=True, check=False,
        timeout=timeout, preexec_fn=_limit_memory,
    )  # fmt: skip


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.cat"
    os.mkfifo(path)
    return path


COMMANDS = [
    ("catalog", "show", "{x}"),
    ("verify", "{x}"),
    ("policy", "compile", "{x}", "-o", "out.cip"),
    ("policy", "show", "{x}"),
    ("policy", "validate", "{x}"),
    ("makecat", "{x}"),
    ("catalog", "tbs", "{x}"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c[:2]) for c in COMMANDS])
def test_fifo_is_refused_without_hanging(
    tmp_path: Path, fifo: Path, command: tuple[str, ...]
) -> None:
    res = run(*(a.format(x=fifo) for a in command), cwd=tmp_path, timeout=60)
    assert res.returncode == 3, res.stdout + res.stderr
    assert "FIFO" in res.stderr
    assert "only regular files are read" in res.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c[:2]) for c in COMMANDS])
def test_dev_zero_is_refused_without_reading_it(tmp_path: Path, command: tuple[str, ...]) -> None:
    res = run(*(a.format(x="/dev/zero") for a in command), cwd=tmp_path, timeout=60)
    assert res.returncode == 3, res.stdout + res.stderr
    assert "/dev/zero: a device" in res.stderr


def test_a_file_over_the_cap_is_refused_unread(tmp_path: Path) -> None:
    """A sparse 300 MiB 'catalog': over the 256 MiB cap, refused from its size."""
    big = tmp_path / "huge.cat"
    with open(big, "wb") as f:
        f.truncate(300 * 1024 * 1024)
    res = run("catalog", "show", str(big), cwd=tmp_path)
    assert res.returncode == 3, res.stderr
    assert "300 MiB is more than a catalog may be (256 MiB)" in res.stderr


def _good(tmp_path: Path) -> tuple[Path, str]:
    good = tmp_path / "good.bin"
    good.write_bytes(b"still processed\n")
    return good, hashlib.sha256(good.read_bytes()).hexdigest().upper()


def test_over_long_name_does_not_stop_the_batch(tmp_path: Path) -> None:
    good, digest = _good(tmp_path)
    long_name = "x" * 300
    res = run("hash", long_name, str(good), cwd=tmp_path)
    assert res.returncode == 3, res.stderr
    assert digest in res.stdout
    assert "name too long for this file system" in res.stderr

    cat = tmp_path / "app.cat"
    res = run("catalog", "build", long_name, str(good), "-o", str(cat), "-n", cwd=tmp_path)
    assert res.returncode == 3, res.stderr
    assert bytes.fromhex(digest) in cat.read_bytes()  # the good file's SHA256 is a member

    policy = tmp_path / "p.xml"
    res = run("policy", "hashes", long_name, str(good), "-o", str(policy), cwd=tmp_path)
    assert res.returncode == 3, res.stderr
    assert digest in policy.read_text(encoding="utf-8").upper()


def test_unreadable_argument_does_not_stop_the_batch(tmp_path: Path) -> None:
    good, digest = _good(tmp_path)
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"no access")
    secret.chmod(0)
    prefix: tuple[str, ...] = ()
    if IS_ROOT:  # root reads everything unless the DAC override capabilities are dropped
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("setpriv (util-linux) is needed to drop CAP_DAC_OVERRIDE as root")
        prefix = (setpriv, "--bounding-set=-dac_override,-dac_read_search")
    try:
        res = run("hash", str(secret), str(good), cwd=tmp_path, prefix=prefix)
        policy = tmp_path / "p.xml"
        pol = run("policy", "hashes", str(secret), str(good), "-o", str(policy), cwd=tmp_path,
                  prefix=prefix)  # fmt: skip
    finally:
        secret.chmod(0o600)
    assert res.returncode == 3, res.stderr
    assert digest in res.stdout
    assert "permission denied" in res.stderr
    assert pol.returncode == 3, pol.stderr
    assert digest in policy.read_text(encoding="utf-8").upper()


def test_link_loop_and_dangling_link_are_per_file_errors(tmp_path: Path) -> None:
    good, digest = _good(tmp_path)
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "dangling").symlink_to("nowhere")
    res = run("hash", "loop", "dangling", str(good), cwd=tmp_path)
    assert res.returncode == 3, res.stderr
    assert digest in res.stdout
    assert "loop: too many levels of symbolic links" in res.stderr
    assert "dangling: no such file or folder" in res.stderr
    assert "2 of 3 files could not be hashed" in res.stderr

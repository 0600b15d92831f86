"""Trace -> catalog end to end: what ``inspector stop`` writes is what Windows would accept.

Oracles: osslsigncode 2.9 (catalog membership of each PE, page hashes included, after signing
the catalog with the test PKI), sha256sum (flat digest of a script), and ``inspector makecat``
rebuilding the catalog from the written .cdf byte for byte (MakeCat semantics, other branch).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, require_tool, run_cli
from tests.support.sessionkit import (
    assert_stopped,
    child_env,
    needs_fanotify,
    state_dir,  # noqa: F401 - fixture used through usefixtures
)

pytestmark = pytest.mark.usefixtures("state_dir")
PE = FIXTURES / "pe"
PKI = FIXTURES / "pki"


cli = run_cli


def sign_and_verify(tmp_path: Path, cat: Path, members: list[Path]) -> None:
    tool = require_tool("osslsigncode")
    signed = tmp_path / "signed.cat"
    subprocess.run(
        [tool, "sign", "-certs", str(PKI / "leaf-chain.pem"), "-key", str(PKI / "leaf.key.pem"),
         "-h", "sha256", "-in", str(cat), "-out", str(signed)],
        check=True, capture_output=True,
    )  # fmt: skip
    for member in members:
        done = subprocess.run(
            [tool, "verify", "-CAfile", str(PKI / "root-ca.pem"), "-ignore-crl",
             "-catalog", str(signed), "-in", str(member)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"{member}: {done.stdout}{done.stderr}"
        assert "MISMATCH" not in done.stdout


INSTALL = """
import os, shutil, sys
pe, root, keep = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(root + "/app")
shutil.copy(pe + "/hello64.exe", root + "/app/app.exe")
shutil.copy(pe + "/version64.dll", root + "/app/lib.dll")
with open(root + "/app/run.ps1", "w") as f:
    f.write("Write-Host installed\\n")
with open(root + "/app/readme.txt", "w") as f:
    f.write("not catalogued\\n")
# The installer stub pattern: extract a helper, use it, delete it before the install ends.
os.makedirs(root + "/tmp")
shutil.copy(pe + "/hello32.exe", root + "/tmp/stub.exe")
shutil.copy(root + "/tmp/stub.exe", keep)
os.unlink(root + "/tmp/stub.exe")
"""


@needs_fanotify
def test_stop_writes_a_catalog_windows_would_accept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, out = tmp_path / "root", tmp_path / "out"
    root.mkdir()
    keep = tmp_path / "stub-copy.exe"
    assert cli(capsys, "start", str(root))[0] == 0
    subprocess.run(
        ["python3", "-c", INSTALL, str(PE), str(root), str(keep)], check=True, env=child_env()
    )
    code, _, err = cli(
        capsys, "stop", str(root), "-Name", str(out / "app.cat"), "-cdfpath",
        str(out / "app.cdf"), "-ph", "true", "-ca1", "0x10010001:OSAttr:2:10.0",
    )  # fmt: skip
    assert_stopped(code, err)
    report = json.loads((out / "app.report.json").read_text())
    entries = {Path(e["path"]).name: e for e in report["entries"]}
    assert set(entries) == {"app.exe", "lib.dll", "run.ps1", "readme.txt", "stub.exe"}
    assert not entries["readme.txt"]["catalogable"]
    assert entries["stub.exe"]["reasons"] == ["transient"]
    assert entries["stub.exe"]["hashes_at_close"][0]["kind"] == "pe"
    sha = subprocess.run(
        [require_tool("sha256sum"), str(root / "app" / "run.ps1")], capture_output=True, text=True
    ).stdout.split()[0]
    assert entries["run.ps1"]["hashes_at_stop"]["flat_sha256"] == sha.upper()
    cdf = (out / "app.cdf").read_text()
    assert f"Name={out / 'app.cat'}" in cdf
    assert "PageHashes=true" in cdf
    assert "CATATTR1=0x10010001:OSAttr:2:10.0" in cdf
    for name in ("app.exe", "lib.dll", "run.ps1"):
        assert f"={root / 'app' / name}" in cdf
    assert "stub.exe" not in cdf
    assert "readme.txt" not in cdf
    # The deleted stub is in the catalog through its hash at close; so are the installed PEs.
    installed = [root / "app" / "app.exe", root / "app" / "lib.dll"]
    sign_and_verify(tmp_path, out / "app.cat", [*installed, keep])


def test_scan_catalog_is_rebuilt_identically_by_makecat_from_its_cdf(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("hello64.exe", "version32.dll", "hello32-signed-sha256.exe"):
        shutil.copy(PE / name, tree / name)
    (tree / "setup.vbs").write_text("WScript.Echo 1\n")
    out = tmp_path / "out"
    code, _, err = cli(
        capsys, "scan", str(tree), "-out", "cat", "-name", str(out / "scan.cat"),
        "-cdfpath", str(out / "scan.cdf"),
    )  # fmt: skip
    assert code == 0, err
    code, _, err = cli(capsys, "makecat", str(out / "scan.cdf"), "-o", str(tmp_path / "again.cat"))
    assert code == 0, err
    assert (tmp_path / "again.cat").read_bytes() == (out / "scan.cat").read_bytes()
    sign_and_verify(tmp_path, out / "scan.cat", [tree / "hello64.exe", tree / "version32.dll"])


def test_bad_pes_never_stop_the_trace_and_outputs_are_reproducible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """tracer.md 7.18 and 7.24: malformed PEs are catalogued flat or reported; same bytes twice."""
    tree = tmp_path / "tree"
    tree.mkdir()
    for bad in sorted((PE / "bad").iterdir()):
        shutil.copy(bad, tree / bad.name)
    (tree / "empty.dll").write_bytes(b"")
    out = tmp_path / "out"
    runs = []
    for _ in range(2):
        code, _, err = cli(
            capsys, "scan", str(tree), "-name", str(out / "x.cat"), "-cdfpath", str(out / "x.cdf")
        )
        assert code == 0, err
        runs.append(((out / "x.cat").read_bytes(), (out / "x.cdf").read_bytes()))
    assert runs[0] == runs[1]
    report = json.loads((out / "x.report.json").read_text())
    catalogable = [e for e in report["entries"] if e["catalogable"]]
    assert catalogable
    for e in catalogable:
        hashed = e["hashes_at_stop"]
        assert hashed is not None or any(e["path"] in w for w in report["warnings"])


DEEP = """
import os, sys
root, exe, script = sys.argv[1], bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3])
fd = os.open(root, os.O_RDONLY)
for _ in range(40):  # 40 x 121 bytes: beyond PATH_MAX (4096), only reachable through dir fds
    os.mkdir("d" * 120, dir_fd=fd)
    n = os.open("d" * 120, os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = n
for name, data in (("deep.exe", exe), ("deep.ps1", script)):
    w = os.open(name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(w, data)
    os.close(w)
"""


def test_files_deeper_than_path_max_are_catalogued_with_their_hashes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 11 item 7: depth must not drop a file silently. Oracles: hashlib SHA-256 of the
    bytes the installer wrote, osslsigncode verifying a short-path copy against the catalog."""
    root, out = tmp_path / "root", tmp_path / "out"
    root.mkdir()
    exe = (PE / "hello64.exe").read_bytes()
    script = b"Write-Host deep\n"
    assert cli(capsys, "start", str(root))[0] == 0
    subprocess.run(
        ["python3", "-c", DEEP, str(root), exe.hex(), script.hex()], check=True, env=child_env()
    )
    code, _, err = cli(
        capsys, "stop", str(root), "-Name", str(out / "deep.cat"), "-cdfpath",
        str(out / "deep.cdf"),
    )  # fmt: skip
    assert_stopped(code, err)
    deep_dir = str(root) + ("/" + "d" * 120) * 40
    assert len(os.fsencode(deep_dir)) > 4096
    report = json.loads((out / "deep.report.json").read_text())
    entries = {e["path"]: e for e in report["entries"]}
    assert set(entries) == {f"{deep_dir}/deep.exe", f"{deep_dir}/deep.ps1"}
    for name, data in (("deep.exe", exe), ("deep.ps1", script)):
        e = entries[f"{deep_dir}/{name}"]
        assert e["catalogable"], e
        assert e["hashes_at_stop"]["flat_sha256"] == hashlib.sha256(data).hexdigest().upper()
    assert entries[f"{deep_dir}/deep.exe"]["content"] == "pe"
    assert not [w for w in report["warnings"] if "could not hash" in w], report["warnings"]
    # The catalog holds the deep PE's Authenticode hash: a short-path copy verifies against it.
    copy = tmp_path / "copy.exe"
    copy.write_bytes(exe)
    sign_and_verify(tmp_path, out / "deep.cat", [copy])

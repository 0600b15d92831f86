"""A Windows install under Wine, recorded end to end (wine.md 4, tracer.md 4.4 and 7.20).

A mingw-built ``setup.exe`` extracts a plug-in DLL to a temp folder, loads it, installs an app and
its DLL into ``Program Files``, then deletes the plug-in; the app then runs and loads its DLL.
Under Wine nothing is ``execve``d: the Wine loader maps images, so executed/loaded come from the
process source, written files from fanotify and the snapshot. Oracles: what setup.c does (by
construction), ``sha256sum`` of the plug-in's bytes, and osslsigncode's catalog membership check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, require_tool, run_cli
from tests.support.sessionkit import (  # noqa: F401 - state_dir is a fixture
    assert_stopped,
    needs_fanotify,
    state_dir,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("state_dir")]

SETUP_C = r"""
#include <windows.h>
int main(void) {
    CreateDirectoryA("C:\\inst_tmp", NULL);
    if (!CopyFileA("C:\\media\\plug.dll", "C:\\inst_tmp\\plug.dll", FALSE)) return 3;
    HMODULE h = LoadLibraryA("C:\\inst_tmp\\plug.dll");
    if (!h) return 4;
    Sleep(1000);
    FreeLibrary(h);
    CreateDirectoryA("C:\\Program Files\\Demo", NULL);
    if (!CopyFileA("C:\\media\\app.exe", "C:\\Program Files\\Demo\\app.exe", FALSE)) return 5;
    if (!CopyFileA("C:\\media\\core.dll", "C:\\Program Files\\Demo\\core.dll", FALSE)) return 6;
    DeleteFileA("C:\\inst_tmp\\plug.dll");
    RemoveDirectoryA("C:\\inst_tmp");
    return 0;
}
"""
APP_C = r"""
#include <windows.h>
int main(void) { if (!LoadLibraryA("core.dll")) return 2; Sleep(1500); return 0; }
"""
DLL_C = "__declspec(dllexport) int value(void) { return %d; }\n"


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code, out, err = run_cli(capsys, *argv)
    return code, out + err


def _remove_prefix(prefix: Path) -> None:
    """End the prefix's wineserver and delete the prefix (about 1.3 GB for win64)."""
    env = {**os.environ, "WINEPREFIX": str(prefix)}
    if shutil.which("wineserver") is not None and prefix.exists():
        subprocess.run(["wineserver", "-k"], env=env, capture_output=True, timeout=30, check=False)
    shutil.rmtree(prefix, ignore_errors=True)


@needs_fanotify
def test_wine_install_is_recorded_and_catalogued(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    wine = require_tool("wine")
    gcc = require_tool("x86_64-w64-mingw32-gcc")
    src = tmp_path / "src"
    src.mkdir()
    (src / "setup.c").write_text(SETUP_C)
    (src / "app.c").write_text(APP_C)
    (src / "plug.c").write_text(DLL_C % 7)
    (src / "core.c").write_text(DLL_C % 42)
    prefix = tmp_path / "prefix"
    media = prefix / "drive_c" / "media"
    request.addfinalizer(lambda: _remove_prefix(prefix))
    monkeypatch.setenv("WINEPREFIX", str(prefix))
    monkeypatch.setenv("WINEDEBUG", "-all")
    monkeypatch.setenv("WINEDLLOVERRIDES", "mscoree,mshtml=")
    boot = subprocess.run(
        [wine, "wineboot", "--init"], capture_output=True, check=False, timeout=300
    )
    if boot.returncode != 0 or not (prefix / "drive_c").is_dir():
        pytest.skip(f"wine cannot create a prefix here: {boot.stderr[-300:]!r}")
    subprocess.run(["wineserver", "-w"], check=False, timeout=120)
    media.mkdir()
    for name, out in (("setup.c", "setup.exe"), ("app.c", "app.exe")):
        subprocess.run([gcc, "-o", str(media / out), str(src / name)], check=True, timeout=120)
    for name, out in (("plug.c", "plug.dll"), ("core.c", "core.dll")):
        subprocess.run(
            [gcc, "-shared", "-o", str(media / out), str(src / name)], check=True, timeout=120
        )
    drive_c = prefix / "drive_c"
    code, text = _cli(capsys, "start", str(drive_c), "-path", str(media / "setup.exe"))
    assert code == 0, text
    subprocess.run([wine, "C:\\media\\setup.exe"], check=True, timeout=120)
    subprocess.run([wine, "C:\\Program Files\\Demo\\app.exe"], check=True, timeout=120)
    outdir = tmp_path / "out"
    code, text = _cli(
        capsys, "stop", str(drive_c), "-Name", str(outdir / "wine.cat"), "-cdfpath",
        str(outdir / "wine.cdf"),
    )  # fmt: skip
    assert_stopped(code, text)
    report = json.loads((outdir / "wine.report.json").read_text())
    got = {e["path"][len(str(drive_c)) :].replace(os.sep, "\\"): e for e in report["entries"]}
    app = got["\\Program Files\\Demo\\app.exe"]
    assert {"created", "executed"} <= set(app["reasons"])
    assert "processes" in app["sources"]
    core = got["\\Program Files\\Demo\\core.dll"]
    assert {"created", "loaded"} <= set(core["reasons"])
    plug = got["\\inst_tmp\\plug.dll"]
    assert "transient" in plug["reasons"]
    assert plug["catalogable"]
    sha = subprocess.run(
        [require_tool("sha256sum"), str(media / "plug.dll")], capture_output=True, text=True
    ).stdout.split()[0]
    assert plug["hashes_at_close"][-1]["flat_sha256"] == sha.upper()
    assert "executed" in got["\\media\\setup.exe"]["reasons"]
    # Wine's own builtin PEs are never catalogued (wine.md 4.3).
    for e in report["entries"]:
        assert e["content"] != "wine-builtin"
    # The deleted plug-in is in the catalog, as are the installed files (osslsigncode agrees).
    tool = require_tool("osslsigncode")
    signed = tmp_path / "signed.cat"
    pki = FIXTURES / "pki"
    subprocess.run(
        [tool, "sign", "-certs", str(pki / "leaf-chain.pem"), "-key", str(pki / "leaf.key.pem"),
         "-h", "sha256", "-in", str(outdir / "wine.cat"), "-out", str(signed)],
        check=True, capture_output=True,
    )  # fmt: skip
    installed = drive_c / "Program Files" / "Demo"
    for member in (media / "plug.dll", installed / "app.exe", installed / "core.dll"):
        done = subprocess.run(
            [tool, "verify", "-CAfile", str(pki / "root-ca.pem"), "-ignore-crl",
             "-catalog", str(signed), "-in", str(member)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"{member}: {done.stdout}{done.stderr}"

"""A real NSIS installer run silently under Wine, recorded end to end (wine.md 2-4, tracer.md 4.4).

The installer is built here from ``fixtures/nsis`` (mingw-w64 payload, Debian's makensis), copied
into a fresh Wine prefix and run with ``/S`` between ``inspector start`` and ``inspector stop`` on
the prefix's ``drive_c``. It installs ``demoapp.exe``, ``democore.dll`` and ``readme.txt``, writes
``uninst.exe`` and uses the System and nsExec plug-ins, which NSIS extracts to ``%TEMP%\\nsX.tmp``
and deletes when it exits. Wine's file operations are done by wineserver (wine.md 4.2), so the
written files reach the tracer through fanotify and the snapshot, never through ``execve``.

Oracles, none of them computed by the code under test:
- what the catalog must hold: the PEs found on disk under ``Program Files`` after the install (the
  .nsi says which files those are) plus the plug-in DLLs as Debian's nsis package ships them in
  ``/usr/share/nsis/Plugins/<target>``; makensis stores plug-ins unchanged, which the test checks
  (``sha256sum`` of the packaged plug-in equals the hash the tracer took before NSIS deleted it);
- their Authenticode SHA256 digests from ``osslsigncode extract-data``, compared with the
  members ``inspector catalog show --json`` lists (the same set: nothing missing, nothing more, so
  none of the ~1,300 Wine builtin PEs of the prefix got in);
- ``osslsigncode verify -catalog`` of the catalog signed with the fixture PKI, for every installed
  PE, the installer and the packaged plug-ins.

Two variants: the x86 stub with a PE32 payload (the real-world case; needs 32-bit Wine, i.e.
Debian's ``wine32:i386``, and skips with the reason when it does not run) and the amd64 stub with
a PE32+ payload (``wine64`` alone).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, require_tool, run_cli
from tests.support.sessionkit import (  # noqa: F401 - state_dir is a fixture
    assert_stopped,
    needs_fanotify,
    state_dir,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("state_dir")]

NSIS_SRC = FIXTURES / "nsis"
PKI = FIXTURES / "pki"
NSIS_PLUGINS = Path("/usr/share/nsis/Plugins")
PLUGINS = ("System.dll", "nsExec.dll")  # the plug-ins installer.nsi calls
INSTALLED = ("demoapp.exe", "democore.dll", "readme.txt", "uninst.exe")  # what installer.nsi writes
INSTALLED_PES = ("demoapp.exe", "democore.dll", "uninst.exe")
# Debian's 32-bit Wine loader (package wine32:i386); wine64 alone cannot start PE32 images.
DEBIAN_WINE32_LOADER = Path("/usr/lib/wine/wine")
DEBIAN_WINE64_LOADER = Path("/usr/lib/wine/wine64")
BOOT_TIMEOUT = 150.0
STEP_TIMEOUT = 90.0


@dataclass(frozen=True, slots=True)
class Variant:
    gcc: str
    amd64: bool
    program_files: str  # where $PROGRAMFILES points for this stub in a win64 prefix (wine.md 3)
    plugin_dir: str


VARIANTS = {
    "x86": Variant("i686-w64-mingw32-gcc", False, "Program Files (x86)", "x86-unicode"),
    "amd64": Variant("x86_64-w64-mingw32-gcc", True, "Program Files", "amd64-unicode"),
}


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code, out, err = run_cli(capsys, *argv)
    return code, out + err


def _run(argv: Sequence[str], timeout: float, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        list(argv), capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    assert done.returncode == 0, f"{argv}: exit {done.returncode}\n{done.stdout}{done.stderr}"
    return done.stdout


def _wine_env(prefix: Path, home: Path) -> dict[str, str]:
    """Headless, quiet, and kept inside the test's folder (wine.md 3, pitfalls 5 and 6)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(
        WINEPREFIX=str(prefix),
        WINEARCH="win64",
        WINEDEBUG="-all",
        WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d",
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
    )
    return env


@pytest.fixture
def wine_prefix(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A fresh win64 prefix, its wineserver ended and its 1.3 GB removed afterwards."""
    prefix, home = tmp_path / "prefix", tmp_path / "home"
    home.mkdir()
    env = _wine_env(prefix, home)
    try:
        yield prefix, env
    finally:
        wineserver = shutil.which("wineserver")
        if wineserver is not None and prefix.exists():
            subprocess.run(
                [wineserver, "-k"], env=env, capture_output=True, timeout=30, check=False
            )
        shutil.rmtree(prefix, ignore_errors=True)


def _authenticode_sha256(osslsigncode: str, path: Path, scratch: Path) -> str:
    """osslsigncode's Authenticode SHA256 of an unsigned PE (the DigestInfo ending extract-data)."""
    out = scratch / "extract.der"
    out.unlink(missing_ok=True)
    _run([osslsigncode, "extract-data", "-h", "sha256", "-in", str(path), "-out", str(out)], 30)
    der = out.read_bytes()
    # extract-data ends with the DigestInfo's OCTET STRING, then an empty SignerInfos SET.
    assert der[-36:-34] == b"\x04\x20", f"{path}: unexpected layout"
    assert der[-2:] == b"\x31\x00", f"{path}: unexpected layout"
    return der[-34:-2].hex().upper()


def _build_installer(variant: Variant, build: Path) -> Path:
    gcc = require_tool(variant.gcc)
    makensis = require_tool("makensis")
    for plugin in PLUGINS:
        if not (NSIS_PLUGINS / variant.plugin_dir / plugin).is_file():
            pytest.skip(f"Debian's nsis has no {variant.plugin_dir}/{plugin} here")
    payload = build / "payload"
    payload.mkdir(parents=True)
    flags = ["-O2", "-s", "-Wl,--no-insert-timestamp"]
    _run(
        [gcc, *flags, "-shared", "-o", str(payload / "democore.dll"), str(NSIS_SRC / "democore.c"),
         f"-Wl,--out-implib,{build / 'libdemocore.a'}"],
        120,
    )  # fmt: skip
    _run(
        [gcc, *flags, "-o", str(payload / "demoapp.exe"), str(NSIS_SRC / "demoapp.c"),
         str(build / "libdemocore.a")],
        120,
    )  # fmt: skip
    setup = build / "DemoAppSetup.exe"
    argv = [makensis, "-V2", f"-DPAYLOAD={payload}", f"-DOUTFILE={setup}"]
    if variant.amd64:
        argv.append("-DAMD64")
    # makensis resolves the script's relative File paths (readme.txt) from the script's folder.
    _run([*argv, str(NSIS_SRC / "installer.nsi")], 120)
    return setup


def _nsexec_helper(nsexec: bytes, flat_sha256: str) -> bytes | None:
    """nsExec.dll turned into its console helper as nsExec 3.08 does it, or None if no match.

    nsExec copies itself to ``$PLUGINSDIR\\nsXXXX.tmp`` and rewrites the copy's header through a
    mapped view (Characteristics 0x010E, Subsystem 3 = CUI, AddressOfEntryPoint = its
    ``AsExeWinMain``) unless it runs under WoW64. The entry point is not exported, so every RVA in
    the code section is tried: a match proves the captured PE is exactly that rewrite.
    """
    data = bytearray(nsexec)
    pe = int.from_bytes(data[0x3C:0x40], "little")
    opt = pe + 24
    data[pe + 22 : pe + 24] = (0x010E).to_bytes(2, "little")
    data[opt + 68 : opt + 70] = (3).to_bytes(2, "little")
    want = bytes.fromhex(flat_sha256)
    code_start = int.from_bytes(data[opt + 20 : opt + 24], "little")  # BaseOfCode
    code_size = int.from_bytes(data[opt + 4 : opt + 8], "little")  # SizeOfCode
    for rva in range(code_start, code_start + code_size):
        data[opt + 16 : opt + 20] = rva.to_bytes(4, "little")
        if hashlib.sha256(data).digest() == want:
            return bytes(data)
    return None


def _skip_without_wine32() -> None:
    """Skip before the prefix is made when Debian's 32-bit loader is plainly absent."""
    if DEBIAN_WINE64_LOADER.exists() and not DEBIAN_WINE32_LOADER.exists():
        pytest.skip(
            f"32-bit Wine is not installed ({DEBIAN_WINE32_LOADER} missing: Debian package "
            "wine32:i386, which scripts/system-deps.sh installs and explains when it cannot)"
        )


def _wine32_runs(wine: str, env: dict[str, str], build: Path) -> str | None:
    """None when a PE32 runs in the prefix, else why not (the skip reason)."""
    probe_c = build / "probe32.c"
    probe_c.write_text("int main(void) { return 7; }\n")
    probe = build / "probe32.exe"
    _run([require_tool("i686-w64-mingw32-gcc"), "-o", str(probe), str(probe_c)], 120)
    done = subprocess.run(
        [wine, str(probe)], env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT
    )
    if done.returncode != 7:
        return (
            f"32-bit Wine does not run a PE32 here (exit {done.returncode}): {done.stderr[-300:]}"
        )
    return None


@needs_fanotify
@pytest.mark.parametrize("arch", sorted(VARIANTS))
def test_nsis_installer_under_wine_is_catalogued(
    arch: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    wine_prefix: tuple[Path, dict[str, str]],
) -> None:
    variant = VARIANTS[arch]
    wine = require_tool("wine")
    wineserver = require_tool("wineserver")
    osslsigncode = require_tool("osslsigncode")
    sha256sum = require_tool("sha256sum")
    prefix, env = wine_prefix
    if not variant.amd64:
        _skip_without_wine32()
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    setup_built = _build_installer(variant, tmp_path / "build")
    timings["build"] = time.monotonic() - t0

    # The session starts before Wine makes the prefix, so the ~700-1,300 PEs wineboot writes into
    # drive_c (builtin copies and placeholder DLLs, wine.md 4.3) are in the recording and must be
    # recognised by their marker; none may reach the catalog.
    drive_c = prefix / "drive_c"
    drive_c.mkdir(parents=True)
    setup = drive_c / "Installers" / "DemoAppSetup.exe"
    t = time.monotonic()
    code, text = _cli(capsys, "start", str(drive_c), "-path", str(setup))
    assert code == 0, text
    timings["start"] = time.monotonic() - t

    t = time.monotonic()
    boot = subprocess.run(
        [wine, "wineboot", "--init"], env=env, capture_output=True, text=True,
        timeout=BOOT_TIMEOUT, check=False,
    )  # fmt: skip
    if boot.returncode != 0 or not (prefix / "drive_c").is_dir():
        pytest.skip(f"wine cannot create a prefix here: {boot.stderr[-300:]!r}")
    _run([wineserver, "-w"], BOOT_TIMEOUT, env)
    timings["prefix"] = time.monotonic() - t
    if not variant.amd64:
        why = _wine32_runs(wine, env, tmp_path / "build")
        if why is not None:
            pytest.skip(why)
        _run([wineserver, "-w"], STEP_TIMEOUT, env)

    # The installer sits inside the recorded root (the -path warning's advice), so what ran is
    # what was recorded; -path catalogues it as run.
    setup.parent.mkdir()
    shutil.copyfile(setup_built, setup)
    t = time.monotonic()
    installed = subprocess.run(
        [wine, "C:\\Installers\\DemoAppSetup.exe", "/S"], env=env, capture_output=True,
        text=True, timeout=STEP_TIMEOUT, check=False,
    )  # fmt: skip
    # wineserver -w: NSIS's children and the registry flush finish before the stop (wine.md 3).
    _run([wineserver, "-w"], STEP_TIMEOUT, env)
    timings["install"] = time.monotonic() - t
    assert installed.returncode == 0, f"installer exit {installed.returncode}: {installed.stderr}"
    out = tmp_path / "out"
    t = time.monotonic()
    code, text = _cli(
        capsys, "stop", str(drive_c), "-Name", str(out / "demo.cat"), "-cdfpath",
        str(out / "demo.cdf"), "-ph", "true",
    )  # fmt: skip
    assert_stopped(code, text)
    timings["stop"] = time.monotonic() - t

    # Ground truth on disk: exactly what installer.nsi installs, in the stub's Program Files.
    appdir = drive_c / variant.program_files / "DemoApp"
    assert sorted(p.name for p in appdir.iterdir()) == sorted(INSTALLED)
    on_disk_pes = [p for p in sorted(appdir.iterdir()) if p.read_bytes()[:2] == b"MZ"]
    assert [p.name for p in on_disk_pes] == sorted(INSTALLED_PES)
    packaged = [NSIS_PLUGINS / variant.plugin_dir / name for name in PLUGINS]

    # The report: how each file was seen; the plug-ins were hashed before NSIS deleted them.
    report = json.loads((out / "demo.report.json").read_text())
    entries = {Path(e["path"]): e for e in report["entries"]}
    for pe in on_disk_pes:
        assert "created" in entries[pe]["reasons"], entries[pe]
    assert "executed" in entries[setup]["reasons"]
    users = drive_c / "users"
    in_pluginsdir = {
        p: e
        for p, e in entries.items()
        if p.is_relative_to(users) and p.parent.parent.name == "Temp"
        and p.parent.name.startswith("ns") and e["content"] == "pe"
    }  # fmt: skip
    for e in in_pluginsdir.values():
        assert "transient" in e["reasons"], e
        assert not e["exists_at_stop"], e
        assert e["catalogable"], e
        assert e["hashes_at_close"], e
        assert not Path(e["path"]).exists()
    for plugin in packaged:
        seen = [e for p, e in in_pluginsdir.items() if p.name == plugin.name]
        assert len(seen) == 1, f"{plugin.name}: {sorted(str(p) for p in entries)}"
        flat = _run([sha256sum, str(plugin)], 30).split()[0].upper()
        assert seen[0]["hashes_at_close"][-1]["flat_sha256"] == flat, seen[0]
    # nsExec 3.08 also writes its console helper there, except under WoW64 (the x86 stub).
    helpers = [e for p, e in in_pluginsdir.items() if p.name not in PLUGINS]
    assert len(helpers) == (1 if variant.amd64 else 0), helpers
    rebuilt: list[Path] = []
    for e in helpers:
        nsexec = (NSIS_PLUGINS / variant.plugin_dir / "nsExec.dll").read_bytes()
        helper = _nsexec_helper(nsexec, e["hashes_at_close"][-1]["flat_sha256"])
        assert helper is not None, f"{e['path']} is not nsExec's helper: {e}"
        rebuilt.append(tmp_path / "nsexec-helper.exe")
        rebuilt[-1].write_bytes(helper)
    for e in report["entries"]:
        assert e["content"] != "wine-builtin", e
    # Wine's own PEs were seen (wineboot wrote them during the session) and set aside.
    windows = drive_c / "windows"
    wine_own = [x for x in report["excluded"] if Path(x["path"]).is_relative_to(windows)]
    assert len(wine_own) > 500, len(wine_own)
    assert all(x["why"].startswith("Wine builtin") for x in wine_own), wine_own[:3]

    # Expected members' digests by osslsigncode, from the files themselves (or rebuilt).
    expected = {
        p: _authenticode_sha256(osslsigncode, p, tmp_path)
        for p in [setup, *on_disk_pes, *packaged, *rebuilt]
    }
    # The catalog holds those PEs and nothing else (no Wine builtin, no prefix file).
    code, text = _cli(capsys, "catalog", "show", str(out / "demo.cat"), "--json")
    assert code == 0, text
    view: dict[str, Any] = json.loads(text)
    members = [m for m in view["members"] if not m["compat_entry"]]
    assert {m["digest_algorithm"] for m in members} == {"sha256"}, members
    got = sorted(m["digest"] for m in members)
    missing = {str(p) for p, d in expected.items() if d not in got}
    extra = [m for m in members if m["digest"] not in expected.values()]
    assert not missing, f"missing {missing}"
    assert not extra, f"not expected {extra}"
    assert len(got) == len(expected)
    assert all(m["page_hashes"] for m in members)

    # Signed with the fixture PKI, the catalog vouches for every file (osslsigncode agrees).
    signed = tmp_path / "signed.cat"
    _run(
        [osslsigncode, "sign", "-certs", str(PKI / "leaf-chain.pem"), "-key",
         str(PKI / "leaf.key.pem"), "-h", "sha256", "-in", str(out / "demo.cat"), "-out",
         str(signed)],
        60,
    )  # fmt: skip
    for member in expected:
        _run(
            [osslsigncode, "verify", "-CAfile", str(PKI / "root-ca.pem"), "-ignore-crl",
             "-catalog", str(signed), "-in", str(member)],
            60,
        )  # fmt: skip
    print(f"nsis-wine {arch} timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))

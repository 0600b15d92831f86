"""The distribution as a user gets it (issue 11 item 17).

sdist and wheel built by ``python -m build`` (the wheel from the sdist, so the sdist is complete),
installed into a fresh virtual environment outside the checkout, where ``inspector demo`` runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    res = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(PROJECT_ROOT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if res.returncode != 0 and "Could not find a version" in res.stdout + res.stderr:
        pytest.skip("the package index is unreachable: cannot fetch the build backend")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return out


def _one(folder: Path, pattern: str) -> Path:
    (found,) = folder.glob(pattern)
    return found


def test_sdist_holds_the_tests_and_the_license(dist: Path) -> None:
    with tarfile.open(_one(dist, "*.tar.gz")) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    for needed in (
        "LICENSE",
        "constraints.txt",
        "tests/conftest.py",
        "tests/unit/inspector/test_help.py",
        "tests/integration/test_cli_exit_codes.py",
        "fixtures/pe/hello64.exe",
        "scripts/test",
        "scripts/min-deps.sh",
    ):
        assert needed in names, f"sdist lacks {needed}"


def test_wheel_ships_license_rich_and_demo_files(dist: Path) -> None:
    with zipfile.ZipFile(_one(dist, "*.whl")) as wheel:
        names = set(wheel.namelist())
        (license_name,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert "inspector authors" in wheel.read(license_name).decode()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = [
            line.split(":", 1)[1].strip()
            for line in wheel.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:") and "extra ==" not in line
        ]
    assert any(r.startswith("rich>=") for r in requires), requires
    assert all(">=" in r for r in requires), f"a dependency without a floor: {requires}"
    demo = PROJECT_ROOT / "inspector" / "demo_files"
    for path in demo.iterdir():
        if path.suffix in (".exe", ".dll", ".pem"):
            assert f"inspector/demo_files/{path.name}" in names


def test_demo_runs_from_the_installed_wheel(dist: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "-c", str(PROJECT_ROOT / "constraints.txt"), str(_one(dist, "*.whl"))],
        capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["INSPECTOR_STATE_DIR"] = str(tmp_path / "state")
    work = tmp_path / "run"
    work.mkdir()
    res = subprocess.run(
        [str(venv / "bin" / "inspector"), "demo", "--dir", str(work / "demo"), "--json"],
        cwd=work, env=env, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    doc = json.loads(res.stdout)
    assert doc["ok"] is True
    assert doc["signature_ok"] is True
    signed = Path(doc["signed_catalog"])
    assert signed.is_file()
    assert signed.is_relative_to(work), "the demo wrote outside its folder"
    # osslsigncode, independently: the installed app's DLL is a member of the signed catalog.
    tool = shutil.which("osslsigncode")
    if tool is not None:
        app_dll = Path(doc["root"]) / "Program Files" / "DemoApp" / "democore.dll"
        done = subprocess.run(
            [tool, "verify", "-CAfile", str(PROJECT_ROOT / "fixtures" / "pki" / "root-ca.pem"),
             "-ignore-crl", "-catalog", str(signed), "-in", str(app_dll)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    # the installed copy ran, not the checkout
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import inspector; print(inspector.__file__)"],
        cwd=work, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert str(venv) in where.stdout

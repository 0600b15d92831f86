"""Audit events -> rules and catalogs, end to end through the real CLI, on real PEs.

The events are the ones a device would log for the fixture PEs: their Authenticode hashes from
``inspector hash`` (itself checked against osslsigncode and embedded signatures elsewhere), the
signer certificates' TBS hashes and names from openssl (``asn1parse -strparse`` + sha256sum),
version resources from pefile. What the rules and catalogs must contain is taken from those
oracles; the catalog built from events alone is then checked by osslsigncode against the files.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pefile  # the version-resource oracle
import pytest

from fixtures.evtx_writer import LogEvent, audit_event, signature_event, write_evtx
from tests.conftest import FIXTURES, require_tool

PKI = FIXTURES / "pki"
BASE_ID = "{5D3C6E1F-0A2B-4C3D-8E9F-102132435465}"
SIGNED_DLL = FIXTURES / "pe" / "version32-signed-rsa4096.dll"  # leaf-rsa4096, has a version
SIGNED_EXE = FIXTURES / "pe" / "hello64-signed-sha256.exe"  # leaf, no version resource
UNSIGNED = FIXTURES / "pe" / "version64.dll"
DEVICE_DIR = "\\Device\\HarddiskVolume3\\Program Files\\Contoso\\"


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inspector", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _openssl_tbs(pem: Path, tmp: Path) -> bytes:
    """SHA256 of the certificate's TBSCertificate, cut out by openssl (the WDAC TBS value for
    certificates signed with SHA256, as all fixture certificates are)."""
    openssl = require_tool("openssl")
    out = tmp / (pem.stem + ".tbs.der")
    subprocess.run(
        [openssl, "asn1parse", "-in", str(pem), "-strparse", "4", "-noout", "-out", str(out)],
        check=True,
        capture_output=True,
    )
    return hashlib.sha256(out.read_bytes()).digest()


def _openssl_cn(pem: Path) -> str:
    openssl = require_tool("openssl")
    subject = subprocess.run(
        [openssl, "x509", "-in", str(pem), "-noout", "-subject", "-nameopt", "RFC2253"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"CN=([^,]+)", subject)
    assert match is not None, subject
    return match.group(1).strip()


def _version(path: Path) -> tuple[str, str]:
    pe = pefile.PE(str(path), fast_load=False)
    strings: dict[str, str] = {}
    for info in getattr(pe, "FileInfo", []) or []:
        for entry in info:
            for table in getattr(entry, "StringTable", []) or []:
                strings.update({k.decode(): v.decode() for k, v in table.entries.items()})
    return strings["OriginalFilename"], strings["FileVersion"]


@dataclass(frozen=True)
class World:
    log: Path
    files: dict[str, dict[str, str]]
    issuer_tbs: bytes
    issuer_cn: str
    leaf_cn: str
    leaf4096_cn: str
    dll_version: tuple[str, str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    require_tool("openssl")
    tmp = tmp_path_factory.mktemp("events")
    hashed = _cli("hash", "--json", SIGNED_DLL, SIGNED_EXE, UNSIGNED)
    assert hashed.returncode == 0, hashed.stderr
    files = {Path(f["path"]).name: f for f in json.loads(hashed.stdout)["files"]}
    issuer_tbs = _openssl_tbs(PKI / "issuing-ca.pem", tmp)
    issuer_cn = _openssl_cn(PKI / "issuing-ca.pem")
    leaves = {
        "leaf": (_openssl_cn(PKI / "leaf.pem"), _openssl_tbs(PKI / "leaf.pem", tmp)),
        "leaf4096": (
            _openssl_cn(PKI / "leaf-rsa4096.pem"),
            _openssl_tbs(PKI / "leaf-rsa4096.pem", tmp),
        ),
    }
    dll_version = _version(SIGNED_DLL)
    events: list[LogEvent] = []
    for i, (path, leaf) in enumerate(
        [(SIGNED_DLL, "leaf4096"), (SIGNED_EXE, "leaf"), (UNSIGNED, None)]
    ):
        f = files[path.name]
        act = f"7d2a0c5e-0000-4000-8000-{i:012d}"
        ofn, ver = dll_version if path == SIGNED_DLL else ("", "")
        events.append(
            audit_event(
                3076,
                DEVICE_DIR + path.name,
                sha1=bytes.fromhex(f["authenticode_sha1"]),
                sha256=bytes.fromhex(f["authenticode_sha256"]),
                flat_sha256=bytes.fromhex(f["flat_sha256"]),
                original_file_name=ofn,
                file_version=ver,
                activity_id=act,
            )
        )
        if leaf is None:
            events.append(signature_event(act, total=0))
        else:
            events.append(
                signature_event(
                    act,
                    total=1,
                    publisher=leaves[leaf][0],
                    issuer=issuer_cn,
                    publisher_tbs=leaves[leaf][1],
                    issuer_tbs=issuer_tbs,
                )
            )
    # The same audit seen twice more (another boot), and a policy-load event nobody asked about.
    events += events[:2]
    events.append(LogEvent(3099, (("PolicyGUID", BASE_ID),)))
    log = tmp / "CodeIntegrity.evtx"
    log.write_bytes(write_evtx(events))
    return World(
        log, files, issuer_tbs, issuer_cn, leaves["leaf"][0], leaves["leaf4096"][0], dll_version
    )


def test_events_show_reports_the_files_hashes_and_signers(world: World) -> None:
    shown = _cli("events", "show", "--json", world.log)
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    files = world.files
    by_name = {e["file_name"]: e for e in doc["events"]}
    assert set(by_name) == {SIGNED_DLL.name, SIGNED_EXE.name, UNSIGNED.name}
    for name, event in by_name.items():
        assert event["sha256"] == files[name]["authenticode_sha256"]
        assert event["sha1"] == files[name]["authenticode_sha1"]
        assert event["path"] == "%OSDRIVE%\\Program Files\\Contoso\\" + name
    assert by_name[SIGNED_DLL.name]["occurrences"] == 2
    assert doc["duplicates_merged"] == 1
    assert by_name[UNSIGNED.name]["signature_count"] == 0
    issuer = world.issuer_tbs.hex().upper()
    assert by_name[SIGNED_EXE.name]["signers"][0]["issuer_tbs"] == issuer
    assert doc["by_event_id"]["3099"] == 1
    assert "3099" in shown.stderr  # counted, with its reason


def test_policy_from_events_levels_and_fallbacks_match_the_oracles(
    world: World, tmp_path: Path
) -> None:
    out = tmp_path / "supplemental.xml"
    made = _cli(
        "policy",
        "from-events",
        world.log,
        "--level",
        "FilePublisher",
        "--fallback",
        "Publisher",
        "--base-policy-id",
        BASE_ID,
        "-o",
        out,
        "--json",
        "--name",
        "Contoso",
    )
    assert made.returncode == 0, made.stderr
    report = json.loads(made.stdout)
    assert report["events_by_level"] == {"FilePublisher": 1, "Publisher": 1, "Hash": 1}
    assert report["base_policy_id"] == BASE_ID
    xml = out.read_text(encoding="utf-8")
    issuer_tbs = world.issuer_tbs.hex().upper()
    ofn, version = world.dll_version
    # FilePublisher: the DLL's issuer TBS, its leaf CN, and a FileAttrib from its version resource
    assert f'Value="{issuer_tbs}"' in xml
    assert f'<CertPublisher Value="{world.leaf4096_cn}"' in xml
    assert f'FileName="{ofn}" MinimumFileVersion="{version}"' in xml
    assert "FileAttribRef" in xml
    # Publisher (the EXE has no version resource): its own leaf CN under the same issuer
    assert f'<CertPublisher Value="{world.leaf_cn}"' in xml
    # Hash for the unsigned DLL: Authenticode SHA1 and SHA256, as ConfigCI writes them
    f = world.files[UNSIGNED.name]
    assert f'Hash="{f["authenticode_sha256"]}"' in xml
    assert f'Hash="{f["authenticode_sha1"]}"' in xml
    assert _cli("policy", "validate", out).returncode == 0
    compiled = _cli("policy", "compile", out, "-o", tmp_path / "supp.cip")
    assert compiled.returncode == 0, compiled.stderr
    again = tmp_path / "again.xml"
    _cli(
        "policy",
        "from-events",
        world.log,
        "--level",
        "FilePublisher",
        "--fallback",
        "Publisher",
        "--base-policy-id",
        BASE_ID,
        "-o",
        again,
        "--name",
        "Contoso",
    )
    assert again.read_bytes() == out.read_bytes()  # deterministic IDs and order


def test_files_already_allowed_by_a_given_policy_get_no_rule(world: World, tmp_path: Path) -> None:
    first = tmp_path / "hashes.xml"
    assert (
        _cli(
            "policy",
            "from-events",
            world.log,
            "--level",
            "Hash",
            "--base-policy-id",
            BASE_ID,
            "-o",
            first,
        ).returncode
        == 0
    )
    second = tmp_path / "rest.xml"
    made = _cli(
        "policy",
        "from-events",
        world.log,
        "--level",
        "Publisher",
        "--base-policy-id",
        BASE_ID,
        "--policy",
        first,
        "-o",
        second,
        "--json",
    )
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["events_by_level"] == {"already allowed": 3}


def test_catalog_from_events_verifies_against_the_files_with_osslsigncode(
    world: World, tmp_path: Path
) -> None:
    ossl = require_tool("osslsigncode")
    cat = tmp_path / "from-events.cat"
    built = _cli(
        "catalog",
        "build",
        "--from-events",
        world.log,
        "-o",
        cat,
        "--time",
        "2026-01-01T00:00:00Z",
        "--json",
    )
    assert built.returncode == 0, built.stderr
    report = json.loads(built.stdout)
    assert {m["from"] for m in report["members"]} == {"event"}
    assert len(report["members"]) == 3
    signed = _cli(
        "sign",
        cat,
        "--cert",
        PKI / "leaf.pem",
        "--key",
        PKI / "leaf.key.pem",
        "--chain",
        PKI / "issuing-ca.pem",
    )
    assert signed.returncode == 0, signed.stderr
    for member in (SIGNED_DLL, SIGNED_EXE, UNSIGNED):
        verdict = subprocess.run(
            [
                ossl,
                "verify",
                "-CAfile",
                str(PKI / "root-ca.pem"),
                "-ignore-crl",
                "-catalog",
                str(cat),
                "-in",
                str(member),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    assert (
        _cli(
            "catalog",
            "build",
            "--from-events",
            world.log,
            "-o",
            tmp_path / "b.cat",
            "--time",
            "2026-01-01T00:00:00Z",
        ).returncode
        == 0
    )
    unsigned_again = tmp_path / "again.cat"
    _cli(
        "catalog",
        "build",
        "--from-events",
        world.log,
        "-o",
        unsigned_again,
        "--time",
        "2026-01-01T00:00:00Z",
    )
    assert unsigned_again.read_bytes() == (tmp_path / "b.cat").read_bytes()


def test_round_trip_events_to_supplemental_to_the_evaluator(world: World, tmp_path: Path) -> None:
    """The supplemental written from the events allows exactly the audited files (by the
    evaluator, on the real files), and nothing else; the base alone blocks them all."""
    base = tmp_path / "base.xml"
    made = _cli(
        "policy", "new", "--template", "enforced", "--name", "Base", "--policy-id", BASE_ID,
        "-o", base,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    supplemental = tmp_path / "supplemental.xml"
    made = _cli(
        "policy", "from-events", world.log, "--level", "FilePublisher", "--fallback", "Publisher",
        "--base", base, "-o", supplemental,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    other = FIXTURES / "pe" / "hello32.exe"  # never audited
    audited = [SIGNED_DLL, SIGNED_EXE, UNSIGNED]

    def verdicts(*policies: Path) -> dict[str, str]:
        args: list[str | Path] = ["policy", "simulate", "--json"]
        for p in policies:
            args += ["--policy", p]
        run = _cli(*args, *audited, other)
        assert run.returncode in (0, 1), run.stderr
        doc = json.loads(run.stdout)
        records = doc["files"] if isinstance(doc, dict) else doc
        return {Path(r["path"]).name: r["verdict"] for r in records}

    with_supplemental = verdicts(base, supplemental)
    assert {name: with_supplemental[name] for name in (p.name for p in audited)} == {
        p.name: "allowed" for p in audited
    }
    assert with_supplemental[other.name] == "blocked"
    assert set(verdicts(base).values()) == {"blocked"}
    # And files a given policy already allows get no rule (decided by the evaluator).
    again = tmp_path / "again.xml"
    rerun = _cli(
        "policy", "from-events", world.log, "--level", "Publisher", "--base", base,
        "--policy", supplemental, "-o", again, "--json",
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["events_by_level"] == {"already allowed": 3}

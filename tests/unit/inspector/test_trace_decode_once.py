"""``stop``/``scan`` keep the hasher's records: a file hashed at stop is never turned into JSON
and back before it becomes a catalog member (only digests read from a journal are decoded).

Oracle: hashlib's SHA256 of each flat file the test wrote (a flat member's subject identifier),
and the catalog decoded with asn1crypto and signify's CTL schema.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
import signify.asn1.ctl  # noqa: F401  (registers the CTL content type with asn1crypto)
from asn1crypto.cms import ContentInfo

import inspector.pipeline.trace as trace_pipeline
from inspector.pipeline.outputs import OutputOptions
from tests.conftest import FIXTURES


def test_scan_builds_members_from_records_without_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_decoding(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a digests record was decoded from JSON")

    monkeypatch.setattr(trace_pipeline, "file_digests_from_dict", no_decoding)
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(FIXTURES / "pe" / "hello64.exe", root / "app.exe")
    scripts = {"a.ps1": b"Write-Host a\n", "b.js": b"WScript.Echo('b');\n"}
    for name, data in scripts.items():
        (root / name).write_bytes(data)
    out = trace_pipeline.scan(str(root), OutputOptions(name=str(tmp_path / "out" / "x.cat")))
    assert set(out.hashes_at_stop) == {str(root / n) for n in ("app.exe", *scripts)}
    der = (tmp_path / "out" / "x.cat").read_bytes()
    ctl = ContentInfo.load(der)["content"]["encap_content_info"]["content"]
    subjects = {s["subject_identifier"].native for s in ctl["trusted_subjects"]}
    assert len(subjects) == 6  # 3 files: SHA256 subject + SHA1 compatibility subject each
    for data in scripts.values():
        assert hashlib.sha256(data).digest() in subjects
        assert hashlib.sha1(data).digest() in subjects

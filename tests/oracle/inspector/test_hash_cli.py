"""``inspector hash`` as a user runs it: output, JSON, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from catalog.pe.hashing import hash_file
from inspector.cli import app
from inspector.cli.commands_hash import json_record
from tests.support.inspector_hash_cli import runner


def test_json_has_every_hash_and_classification(oracle_dir: Path) -> None:
    unsigned = str(oracle_dir / "makecat" / "unsigned.exe")
    result = runner.invoke(app, ["hash", "--json", "--page-tables", unsigned])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == 1
    assert doc["failures"] == []
    (entry,) = doc["files"]
    assert entry["kind"] == "pe"
    assert entry["authenticode_sha256"] == (
        "2D2C7B382C8163A419B9FF214A7B651C33F9EA43335907F11377290C5158A7A4"
    )
    assert entry["page_hash_sha256"] == (
        "43CE7BFD7EEA479340D0EA3F8B5903D3F85BB18AE184A662372C64F8B5C65A85"
    )
    assert len(entry["page_table_sha256"]) == 28


def test_json_has_first_page_hashes_but_no_tables_unless_asked(oracle_dir: Path) -> None:
    unsigned = str(oracle_dir / "makecat" / "unsigned.exe")
    result = runner.invoke(app, ["hash", "--json", unsigned])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)["files"]
    assert "page_table_sha256" not in entry
    assert "page_table_sha1" not in entry
    assert entry["page_hash_sha256"] == (
        "43CE7BFD7EEA479340D0EA3F8B5903D3F85BB18AE184A662372C64F8B5C65A85"
    )


def test_json_record_is_the_records_own_dict(oracle_dir: Path) -> None:
    """The CLI's fast rendering of page tables parses back to exactly ``to_dict()``."""
    for name in ("makecat/unsigned.exe", "microsoft/whois.exe"):
        result = hash_file(oracle_dir / name)
        for page_tables in (True, False):
            rendered = json.loads(json_record(result, page_tables=page_tables))
            assert rendered == result.to_dict(page_tables=page_tables)
        assert len(json.loads(json_record(result, page_tables=True))["page_table_sha256"]) > 2

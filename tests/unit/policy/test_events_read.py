"""Reading events: EVTX (real MS-EVEN6 logs written by tests/support/evtx_writer.py), XML
exports, advanced-hunting CSV/JSON; correlation, de-duplication, and every kind of bad input
counted with a reason. Expected values are the ones written into the inputs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from fixtures.evtx_writer import LogEvent, audit_event, signature_event, write_evtx
from policy.events import EventKind, read_events
from policy.events.normalize import Collector, windows_path
from policy.events.records import RawEvent

SHA1 = hashlib.sha1(b"app").digest()
SHA256 = hashlib.sha256(b"app").digest()
PUB_TBS = hashlib.sha256(b"leaf tbs").digest()
ISS_TBS = hashlib.sha256(b"issuer tbs").digest()
ACT = "06dc59e1-fb5b-0001-7580-dc065bfbd701"


def _audit(
    event_id: int = 3076, path: str = "\\Device\\HarddiskVolume3\\App\\app.exe", **kw: object
) -> LogEvent:
    return audit_event(
        event_id,
        path,
        sha1=kw.pop("sha1", SHA1),  # type: ignore[arg-type]
        sha256=kw.pop("sha256", SHA256),  # type: ignore[arg-type]
        original_file_name="app.exe",
        file_version="1.2.3.4",
        activity_id=kw.pop("activity_id", ACT),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def _sig(activity: str = ACT, total: int = 1) -> LogEvent:
    return signature_event(
        activity,
        total=total,
        publisher="Contoso Ltd",
        issuer="Contoso Issuing CA",
        publisher_tbs=PUB_TBS,
        issuer_tbs=ISS_TBS,
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\\Device\\HarddiskVolume3\\Windows\\System32\\scrobj.dll", "%SYSTEM32%\\scrobj.dll"),
        ("\\Device\\HarddiskVolume12\\Windows\\explorer.exe", "%WINDIR%\\explorer.exe"),
        (
            "\\Device\\HarddiskVolume3\\Program Files\\App\\a.dll",
            "%OSDRIVE%\\Program Files\\App\\a.dll",
        ),
        ("C:\\windows\\system32\\drivers\\x.sys", "%SYSTEM32%\\drivers\\x.sys"),
        ("\\??\\D:\\Tools\\t.exe", "%OSDRIVE%\\Tools\\t.exe"),
        ("\\\\server\\share\\t.exe", "\\\\server\\share\\t.exe"),
    ],
)
def test_kernel_and_dos_paths_become_the_macros_windows_tools_write(
    raw: str, expected: str
) -> None:
    assert windows_path(raw) == expected


def test_evtx_audit_event_with_its_correlated_signature(tmp_path: Path) -> None:
    log = tmp_path / "ci.evtx"
    log.write_bytes(write_evtx([_audit(), _sig()]))
    found = read_events([str(log)])
    assert found.sources == ((str(log), "evtx"),)
    assert found.records_read == 2
    (event,) = found.events
    assert event.event_id == 3076
    assert event.kind is EventKind.AUDIT
    assert event.path == "%OSDRIVE%\\App\\app.exe"
    assert event.raw_path == "\\Device\\HarddiskVolume3\\App\\app.exe"
    assert (event.sha1, event.sha256) == (SHA1, SHA256)
    assert event.flat_sha256 is None  # all-zero in the log means "not given"
    assert (event.original_file_name, event.file_version) == ("app.exe", "1.2.3.4")
    assert event.scenario == 12
    assert event.signature_count == 1
    (signer,) = event.signers
    assert (signer.publisher_name, signer.issuer_name) == ("Contoso Ltd", "Contoso Issuing CA")
    assert (signer.publisher_tbs, signer.issuer_tbs) == (PUB_TBS, ISS_TBS)
    assert found.problems == ()


def test_signature_event_before_its_file_event_still_correlates(tmp_path: Path) -> None:
    log = tmp_path / "ci.evtx"
    log.write_bytes(write_evtx([_sig(), _audit(3077, scenario=0)]))
    (event,) = read_events([str(log)]).events
    assert event.kind is EventKind.BLOCK
    assert event.scenario == 131
    assert event.signers[0].issuer_tbs == ISS_TBS


def test_unsigned_file_has_signature_count_zero_and_no_signer(tmp_path: Path) -> None:
    log = tmp_path / "ci.evtx"
    unsigned = signature_event(ACT, total=0)
    log.write_bytes(write_evtx([_audit(), unsigned]))
    (event,) = read_events([str(log)]).events
    assert event.signature_count == 0
    assert event.signers == ()


def test_duplicates_merge_with_counts_and_conflicting_signers_are_all_kept(tmp_path: Path) -> None:
    other = "11111111-2222-3333-4444-555555555555"
    other_sig = signature_event(
        other, total=1, publisher="Other", issuer="Other CA", issuer_tbs=PUB_TBS
    )
    log = tmp_path / "ci.evtx"
    log.write_bytes(
        write_evtx([_audit(), _sig(), _audit(3077, activity_id=other), other_sig, _audit()])
    )
    found = read_events([str(log)])
    (event,) = found.events
    assert event.occurrences == 3
    assert found.duplicates == 2
    assert event.kind is EventKind.BLOCK  # one of them was enforced
    assert {s.publisher_name for s in event.signers} == {"Contoso Ltd", "Other"}
    assert any("disagree" in n for n in event.notes)


def test_many_events_stream_through_a_bounded_correlation_window(tmp_path: Path) -> None:
    events: list[LogEvent] = []
    for i in range(300):
        act = f"00000000-0000-0000-0000-{i:012d}"
        d1, d256 = hashlib.sha1(b"%d" % i).digest(), hashlib.sha256(b"%d" % i).digest()
        events += [_audit(path=f"C:\\App\\f{i}.dll", sha1=d1, sha256=d256, activity_id=act)]
        events += [_sig(act)]
    log = tmp_path / "big.evtx"
    log.write_bytes(write_evtx(events))
    collector_window = 8
    found = read_events([str(log)], window=collector_window)
    assert len(found.events) == 300
    assert all(e.signers and e.signers[0].issuer_tbs == ISS_TBS for e in found.events)
    assert len(log.read_bytes()) > 0x10000 * 2  # the log spans several chunks


def test_unknown_ids_bad_hashes_and_orphans_are_counted_not_dropped() -> None:
    c = Collector()
    c.add(RawEvent("a#1", 3099, None, None, None, None, (("PolicyGUID", "{x}"),)))
    c.add(RawEvent("a#2", 3099, None, None, None, None, ()))
    c.add(
        RawEvent(
            "a#3",
            3076,
            None,
            None,
            None,
            None,
            (("File Name", "C:\\a.exe"), ("SHA256 Hash", "XYZ"), ("SHA1 Hash", "00AB")),
        )
    )
    c.add(RawEvent("a#4", 3089, None, None, None, "{act}", (("TotalSignatureCount", "1"),)))
    c.add(RawEvent("a#5", 3077, None, None, None, None, (("Status", "1"),)))
    found = c.finish()
    reasons = {p.reason: p.count for p in found.problems}
    assert reasons["event id 3099 is not an App Control file event"] == 2
    assert any("SHA256 Hash" in r and "not hexadecimal" in r for r in reasons)
    assert any("SHA1 Hash" in r and "has 2 bytes, not 20" in r for r in reasons)
    assert reasons["signature information with no audit/block event"] == 1
    assert reasons["event 3077 names no file: ignored"] == 1
    (event,) = found.events
    assert event.sha256 is None


def test_truncated_and_dirty_evtx_keeps_what_was_read(tmp_path: Path) -> None:
    events = []
    for i in range(400):
        act = f"00000000-0000-0000-0000-{i:012d}"
        events += [
            _audit(
                path=f"C:\\A\\f{i}.dll", sha256=hashlib.sha256(b"%d" % i).digest(), activity_id=act
            )
        ]
    data = write_evtx(events, dirty=True)
    log = tmp_path / "copied-while-written.evtx"
    log.write_bytes(data[: len(data) - 0x10000 // 2])  # the last chunk torn in half
    found = read_events([str(log)])
    assert 0 < len(found.events) < 400
    assert found.failed_inputs == ()
    assert found.problems  # the damage is reported
    corrupt = bytearray(data)
    corrupt[4096 + 600 : 4096 + 700] = b"\xff" * 100  # inside the first chunk's first record
    log.write_bytes(bytes(corrupt))
    damaged = read_events([str(log)])
    assert damaged.problems
    assert len(damaged.events) >= 300  # later chunks still read


def test_not_an_evtx_at_all_and_missing_inputs(tmp_path: Path) -> None:
    fake = tmp_path / "fake.evtx"
    fake.write_bytes(b"ElfFile\x00" + b"\x00" * 100)
    missing = tmp_path / "nope.evtx"
    found = read_events([str(fake), str(missing)])
    assert found.events == ()
    assert [p for p, _ in found.failed_inputs] == [str(missing)]
    assert found.problems


XML_EVENTS = f"""<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>
<Provider Name="Microsoft-Windows-CodeIntegrity"/><EventID>3077</EventID>
<TimeCreated SystemTime="2021-12-27T19:58:05.0190333Z"/><EventRecordID>193</EventRecordID>
<Correlation ActivityID="{{{ACT}}}"/><Computer>DESKTOP-7E3E45C</Computer></System>
<EventData><Data Name="File Name">\\Device\\HarddiskVolume3\\Windows\\System32\\scrobj.dll</Data>
<Data Name="SHA1 Hash">{SHA1.hex().upper()}</Data>
<Data Name="SHA256 Hash">{SHA256.hex().upper()}</Data>
<Data Name="SI Signing Scenario">1</Data><Data Name="OriginalFileName">scrobj.dll</Data>
<Data Name="FileVersion">5.812.10240.16384</Data></EventData></Event>
<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>
<Provider Name="Microsoft-Windows-CodeIntegrity"/><EventID>3089</EventID>
<Correlation ActivityID="{{{ACT}}}"/></System><EventData>
<Data Name="TotalSignatureCount">1</Data><Data Name="Signature">0</Data>
<Data Name="PublisherName">Microsoft Windows</Data>
<Data Name="IssuerName">Microsoft Windows Production PCA 2011</Data>
<Data Name="PublisherTBSHash">{PUB_TBS.hex().upper()}</Data>
<Data Name="IssuerTBSHash">{ISS_TBS.hex().upper()}</Data></EventData></Event>
"""


@pytest.mark.parametrize("wrap", [False, True])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_xml_exports_with_and_without_root_in_each_encoding(
    tmp_path: Path, wrap: bool, encoding: str
) -> None:
    text = f"<Events>{XML_EVENTS}</Events>" if wrap else XML_EVENTS
    if encoding == "utf-16":
        text = '<?xml version="1.0" encoding="UTF-16"?>' + text
    path = tmp_path / "export.xml"
    path.write_bytes(text.encode(encoding))
    found = read_events([str(path)])
    assert found.sources == ((str(path), "xml"),)
    (event,) = found.events
    assert event.path == "%SYSTEM32%\\scrobj.dll"
    assert event.source == f"{path}#record 193"
    assert event.signers[0].publisher_name == "Microsoft Windows"
    assert found.problems == ()


def test_xml_with_doctype_is_refused_and_truncated_xml_keeps_earlier_events(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<!DOCTYPE x [<!ENTITY a "aaaa">]>' + XML_EVENTS)
    found = read_events([str(bomb)])
    assert found.events == ()
    assert any("DOCTYPE" in p.reason for p in found.problems)
    cut = tmp_path / "cut.xml"
    cut.write_text(XML_EVENTS + XML_EVENTS.replace("3077", "3076")[:300])
    found = read_events([str(cut)])
    assert len(found.events) == 1
    assert any("malformed XML" in p.reason for p in found.problems)
    deep = tmp_path / "deep.xml"
    deep.write_text("<a>" * 100 + "</a>" * 100)
    assert any("deeper" in p.reason for p in read_events([str(deep)]).problems)


MDE_HEADER = [
    "Timestamp",
    "DeviceName",
    "ActionType",
    "FileName",
    "FolderPath",
    "SHA1",
    "SHA256",
    "AdditionalFields",
]


def _mde_rows() -> list[list[str]]:
    audit_fields = json.dumps(
        {
            "PolicyID": "{A244370E-44C9-4C06-B551-F6016E563076}",
            "EtwActivityId": ACT,
            "OriginalFileName": "app.exe",
            "FileVersion": "1.2.3.4",
            "SiSigningScenario": 1,
        }
    )
    sig_fields = json.dumps(
        {
            "EtwActivityId": ACT,
            "PublisherName": "Contoso, Ltd",
            "IssuerName": "Contoso CA",
            "PublisherTBSHash": PUB_TBS.hex(),
            "IssuerTBSHash": ISS_TBS.hex(),
            "TotalSignatureCount": 1,
            "Signature": 0,
        }
    )
    return [
        [
            "2026-11-02T08:00:00Z",
            "pc1",
            "AppControlCodeIntegrityPolicyAudited",
            "app.exe",
            "C:\\Program Files\\App",
            SHA1.hex(),
            SHA256.hex(),
            audit_fields,
        ],
        [
            "2026-11-02T08:00:00Z",
            "pc1",
            "AppControlCodeIntegritySigningInformation",
            "app.exe",
            "C:\\Program Files\\App",
            "",
            "",
            sig_fields,
        ],
        ["2026-11-02T08:00:00Z", "pc1", "AntivirusDetection", "x", "C:\\", "", "", "{}"],
    ]


def _csv(rows: list[list[str]], sep: str) -> str:
    def cell(v: str) -> str:
        return '"' + v.replace('"', '""') + '"'

    return "\n".join(sep.join(cell(v) for v in row) for row in [MDE_HEADER, *rows]) + "\n"


@pytest.mark.parametrize(
    ("sep", "encoding"), [(",", "utf-8"), (";", "utf-8-sig"), ("\t", "utf-16")]
)
def test_defender_advanced_hunting_csv_in_other_locales(
    tmp_path: Path, sep: str, encoding: str
) -> None:
    path = tmp_path / "hunt.csv"
    path.write_bytes(_csv(_mde_rows(), sep).encode(encoding))
    found = read_events([str(path)])
    assert found.sources == ((str(path), "table"),)
    (event,) = found.events
    assert event.path == "%OSDRIVE%\\Program Files\\App\\app.exe"
    assert (event.sha1, event.sha256) == (SHA1, SHA256)
    assert event.original_file_name == "app.exe"
    assert event.device == "pc1"
    assert event.signers[0].publisher_name == "Contoso, Ltd"
    assert event.signers[0].issuer_tbs == ISS_TBS
    (problem,) = found.problems
    assert "no recognised ActionType" in problem.reason


def test_defender_json_array_and_ndjson(tmp_path: Path) -> None:
    rows = [dict(zip(MDE_HEADER, r, strict=True)) for r in _mde_rows()[:2]]
    for name, text in (
        ("rows.json", json.dumps(rows)),
        ("results.json", json.dumps({"Results": rows})),
        ("rows.ndjson", "\n".join(json.dumps(r) for r in rows) + "\nnot json\n"),
    ):
        path = tmp_path / name
        path.write_text(text)
        found = read_events([str(path)])
        (event,) = found.events
        assert event.signers[0].issuer_tbs == ISS_TBS, name
        if name.endswith("ndjson"):
            assert any("not JSON" in p.reason for p in found.problems)


def test_log_analytics_workbook_rows_carry_their_signer_inline(tmp_path: Path) -> None:
    header = ",".join(
        [
            "Action",
            "AffectedFile",
            "SHA1_Hash",
            "SHA256_Hash",
            "PublisherName",
            "IssuerName",
            "PublisherTBSHash",
            "IssuerTBSHash",
            "OriginalFileName",
            "FileVersion",
            "PolicyGUID",
        ]
    )
    guid = "{A244370E-44C9-4C06-B551-F6016E563076}"
    row = ",".join(
        [
            "Audited",
            "C:\\App\\app.exe",
            SHA1.hex(),
            SHA256.hex(),
            "Contoso",
            "Contoso CA",
            PUB_TBS.hex(),
            ISS_TBS.hex(),
            "app.exe",
            "1.2.3.4",
            guid,
        ]
    )
    tool_hash = hashlib.sha256(b"tool").hexdigest()
    unsigned = f"Blocked,C:\\App\\tool.exe,{SHA1.hex()},{tool_hash},,,,,tool.exe,1.0.0.0,{guid}"
    path = tmp_path / "workbook.csv"
    path.write_text("\n".join([header, row, unsigned]) + "\n")
    found = read_events([str(path)])
    app, tool = found.events
    assert app.kind is EventKind.AUDIT
    assert app.signers[0].publisher_tbs == PUB_TBS
    assert tool.kind is EventKind.BLOCK
    assert tool.signers == ()
    assert found.problems == ()


APPLOCKER = f"""<Events>
<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>
<Provider Name="Microsoft-Windows-AppLocker"/><EventID>8028</EventID>
<Correlation ActivityID="{{{ACT}}}"/><Computer>PC2</Computer></System>
<EventData><Data Name="FilePath">%OSDRIVE%\\Scripts\\setup.ps1</Data>
<Data Name="Sha1Hash">{SHA1.hex().upper()}</Data>
<Data Name="Sha256Hash">{SHA256.hex().upper()}</Data>
<Data Name="UserWriteable">true</Data></EventData></Event>
<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>
<Provider Name="Microsoft-Windows-AppLocker"/><EventID>8038</EventID>
<Correlation ActivityID="{{{ACT}}}"/></System>
<UserData><SignatureInfo xmlns="urn:test"><TotalSignatureCount>1</TotalSignatureCount>
<Signature>0</Signature><PublisherName>Contoso Scripts</PublisherName>
<IssuerName>Contoso CA</IssuerName><IssuerTBSHash>{ISS_TBS.hex().upper()}</IssuerTBSHash>
</SignatureInfo></UserData></Event>
</Events>"""


def test_applocker_script_events_with_userdata_signature(tmp_path: Path) -> None:
    path = tmp_path / "msi-and-script.xml"
    path.write_text(APPLOCKER)
    (event,) = read_events([str(path)]).events
    assert (event.event_id, event.kind) == (8028, EventKind.AUDIT)
    assert event.scenario == 12
    assert event.path == "%OSDRIVE%\\Scripts\\setup.ps1"
    assert (event.sha1, event.sha256) == (SHA1, SHA256)
    assert event.signers[0].publisher_name == "Contoso Scripts"
    assert event.signers[0].issuer_tbs == ISS_TBS

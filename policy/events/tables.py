"""Advanced-hunting and Log Analytics exports (CSV or JSON) -> ``RawEvent``.

Defender for Endpoint's ``DeviceEvents`` rows name the event by ``ActionType``
(``AppControlCodeIntegrityPolicyAudited`` = 3076, ``…PolicyBlocked`` = 3077,
``AppControlCodeIntegritySigningInformation`` = 3089, ``AppControlCIScriptAudited`` /
``…Blocked`` = 8028 / 8029) and put the event's own fields either in columns (Microsoft's
documented query projects ``IssuerName``, ``IssuerTBSHash``, ``PublisherName``,
``PublisherTBSHash``, ``PolicyID``, ``PolicyName``, ``AuthenticodeHash`` … out of
``AdditionalFields``) or in the ``AdditionalFields`` JSON itself: both are read. The file's path is
``FolderPath`` + ``FileName``. Rows of one load share an ``EtwActivityId`` (the ETW correlation).

The Log Analytics App Control workbook exports one row per file with its signer inline
(``Action, AffectedFile, SHA1_Hash, SHA256_Hash, PublisherName, IssuerName, PublisherTBSHash,
IssuerTBSHash, OriginalFileName, FileVersion, PolicyGUID``): such a row yields the file event and
its signature event, correlated by the row.

CSV from other locales: a BOM (UTF-8 or UTF-16) is honoured and the separator is whichever of
``, ; TAB |`` the header line uses. JSON: an array of rows, ``{"Results"|"value"|"rows": [...]}``,
or one row per line (NDJSON, streamed).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, BinaryIO

from policy.events.records import RawEvent

ACTION_TYPES = {
    "appcontrolcodeintegritypolicyaudited": 3076,
    "appcontrolcodeintegritypolicyblocked": 3077,
    "appcontrolcodeintegritysigninginformation": 3089,
    "appcontrolciscriptaudited": 8028,
    "appcontrolciscriptblocked": 8029,
}
_ACTIVITY_KEYS = ("EtwActivityId", "ActivityId", "ActivityID", "CorrelationId", "EtwCorrelationId")
_SIGNER_KEYS = ("PublisherName", "IssuerName", "PublisherTBSHash", "IssuerTBSHash")
MAX_JSON_DOCUMENT = 512 * 1024 * 1024
"""A JSON array is parsed whole; beyond this, export NDJSON (one row per line) instead."""
MAX_FIELD = 1 << 20
_WRAPPERS = ("Results", "results", "value", "rows", "Rows")


def _text_stream(stream: BinaryIO) -> io.TextIOWrapper:
    head = stream.read(4)
    stream.seek(0)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return io.TextIOWrapper(stream, encoding="utf-16", newline="")
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")


def _row_event(
    row: Mapping[str, Any], where: str, problem: Callable[[str, str], None]
) -> list[RawEvent]:
    data: dict[str, str] = {}
    for key, value in row.items():
        if value is None:
            continue
        if isinstance(value, dict | list):
            value = json.dumps(value)
        data[str(key).strip()] = str(value)
    extra = data.get("AdditionalFields")
    if extra:
        try:
            fields = json.loads(extra)
        except ValueError:
            problem(where, "AdditionalFields is not JSON: its fields were not read")
            fields = {}
        if isinstance(fields, dict):
            for key, value in fields.items():
                if value is not None and str(key) not in data:
                    data[str(key)] = (
                        json.dumps(value) if isinstance(value, dict | list) else str(value)
                    )
    event_id = _event_id(data)
    if event_id is None:
        problem(where, "a row with no recognised ActionType/EventId/Action: ignored")
        return []
    folder, name = data.get("FolderPath"), data.get("FileName")
    if folder and name and "AffectedFile" not in data and "File Name" not in data:
        joined = folder.rstrip("\\/")
        if not joined.casefold().endswith(("\\" + name).casefold()):
            joined = f"{joined}\\{name}"
        data["File Name"] = joined
    activity = next((data[k] for k in _ACTIVITY_KEYS if data.get(k)), None)
    device = data.get("DeviceName") or data.get("Computer") or data.get("DeviceId")
    time = data.get("Timestamp") or data.get("TimeGenerated") or data.get("TimeCreated")
    pairs = tuple(data.items())
    main = RawEvent(where, event_id, None, time, device, activity, pairs)
    if event_id in (3089, 8038) or not any(data.get(k) for k in _SIGNER_KEYS):
        return [main]
    # A workbook row: the file and its signer in one line, correlated by the row itself.
    row_activity = activity or f"row:{where}"
    signer = RawEvent(where, 3089, None, time, device, row_activity, pairs)
    return [
        RawEvent(where, event_id, None, time, device, row_activity, pairs),
        signer,
    ]


def _event_id(data: Mapping[str, str]) -> int | None:
    action = data.get("ActionType")
    if action:
        return ACTION_TYPES.get(action.strip().casefold())
    for key in ("EventId", "EventID", "Id"):
        value = data.get(key)
        if value and value.strip().isdigit():
            return int(value)
    verdict = data.get("Action")
    if verdict:
        folded = verdict.casefold()
        if "block" in folded or "enforce" in folded:
            return 3077
        if "audit" in folded:
            return 3076
    return None


def read_table(
    stream: BinaryIO, source: str, problem: Callable[[str, str], None]
) -> Iterator[RawEvent]:
    """Every row of a CSV or JSON export, in file order (CSV and NDJSON are streamed)."""
    text = _text_stream(stream)
    try:
        yield from _read_text(text, source, problem)
    finally:
        text.detach()  # the caller owns (and closes) the binary stream


def _read_text(
    text: io.TextIOWrapper, source: str, problem: Callable[[str, str], None]
) -> Iterator[RawEvent]:
    first_line = text.readline()
    while first_line and not first_line.strip():
        first_line = text.readline()
    head = first_line.lstrip()
    if head.startswith("{"):
        try:
            row = json.loads(head)
        except ValueError:
            row = None
        if isinstance(row, dict) and not any(isinstance(row.get(k), list) for k in _WRAPPERS):
            yield from _read_ndjson(itertools.chain([first_line], text), source, problem)
            return
    if head.startswith(("[", "{")):
        document = first_line + text.read(MAX_JSON_DOCUMENT)
        yield from _read_json(document, source, problem)
        return
    yield from _read_csv(first_line, text, source, problem)


def _read_ndjson(
    lines: Iterable[str], source: str, problem: Callable[[str, str], None]
) -> Iterator[RawEvent]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            row = json.loads(line)
        except ValueError as exc:
            problem(where, f"a line is not JSON ({exc}): ignored")
            continue
        if isinstance(row, dict):
            yield from _row_event(row, where, problem)
        else:
            problem(where, "a JSON line that is not an object: ignored")


def _read_json(
    document: str, source: str, problem: Callable[[str, str], None]
) -> Iterator[RawEvent]:
    if len(document) >= MAX_JSON_DOCUMENT:
        problem(source, f"JSON larger than {MAX_JSON_DOCUMENT} bytes: export NDJSON instead")
        return
    try:
        parsed: Any = json.loads(document)
    except ValueError as exc:
        problem(source, f"not valid JSON ({exc}): nothing read from it")
        return
    rows: list[Any] = [parsed]
    if isinstance(parsed, list):
        rows = parsed
    elif isinstance(parsed, dict):
        for key in _WRAPPERS:
            if isinstance(parsed.get(key), list):
                rows = parsed[key]
                break
    for index, row in enumerate(rows):
        where = f"{source}[{index}]"
        if isinstance(row, dict):
            yield from _row_event(row, where, problem)
        else:
            problem(where, "a JSON row that is not an object: ignored")


def _read_csv(
    header: str, rest: Iterable[str], source: str, problem: Callable[[str, str], None]
) -> Iterator[RawEvent]:
    delimiter = max(",;\t|", key=header.count)
    csv.field_size_limit(MAX_FIELD)
    reader = csv.DictReader(itertools.chain([header], rest), delimiter=delimiter)
    try:
        for row in reader:
            where = f"{source}:{reader.line_num}"
            if None in row:
                problem(where, "a row with more fields than the header: extra fields ignored")
            yield from _row_event({k: v for k, v in row.items() if k is not None}, where, problem)
    except csv.Error as exc:
        problem(f"{source}:{reader.line_num}", f"CSV unreadable from here on ({exc})")

"""Batched header parsing (catalog.pe.headers) agrees with the scalar reference parser, and
whole-buffer digests (digest_buffer) with the streaming session.

The reference, ``parse_pe_layout``, is itself checked against formats.md offsets read with
``struct`` in test_hasher_properties and against osslsigncode; here the batched decoder must give
the same layout, or the same error type and message, on every fixture, on Microsoft's files, and
on hypothesis mutants (the same mutation strategy), parsed together in one batch and with
prefixes shorter than the file.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.pe.digests import DigestSession, digest_buffer
from catalog.pe.headers import parse_layouts
from catalog.pe.layout import PeLayout
from catalog.records import ALL_ALGORITHMS
from tests.conftest import FIXTURES
from tests.support.catalog_batch_headers import check, fixture_files, reference
from tests.support.catalog_hasher_properties import Case, mutated


def test_every_fixture_in_one_batch() -> None:
    files = fixture_files(FIXTURES / "pe")
    assert len(files) > 10
    check([(d, len(d)) for d in files])
    assert sum(isinstance(p, PeLayout) for p in parse_layouts(files, [len(d) for d in files])) >= 11


def test_prefixes_of_fixtures_agree() -> None:
    """The chunked path parses a prefix: short prefixes must give the same IncompleteHeaders."""
    files = fixture_files(FIXTURES / "pe")
    for cut in (0, 1, 63, 64, 0x100, 0x200, 0x400, 0x1000):
        check([(d[:cut], len(d)) for d in files])


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(mutated(), min_size=1, max_size=6))
def test_mutants_batched_together_agree(cases: list[Case]) -> None:
    check([(c.data, len(c.data)) for c in cases])


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated(), st.booleans(), st.booleans())
def test_whole_buffer_digests_equal_the_streaming_session(
    case: Case, page_tables: bool, flat: bool
) -> None:
    """``digest_buffer`` (small files) and ``DigestSession`` (chunked) compute the same values;
    the session itself is checked against hashlib, osslsigncode and Microsoft's files."""
    data = case.data
    parsed = reference(data, len(data))
    layout = parsed if isinstance(parsed, PeLayout) else None
    view = memoryview(data)
    options = {"page_tables": page_tables, "flat": flat or layout is None}
    session = DigestSession(len(data), ALL_ALGORITHMS, layout, **options)
    for start in range(0, len(data), 4096 + 17):  # odd chunking: pages straddle chunks
        session.feed(view[start : start + 4096 + 17])
    assert digest_buffer(view, ALL_ALGORITHMS, layout, **options) == session.finish()

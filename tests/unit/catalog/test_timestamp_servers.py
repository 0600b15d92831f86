"""``--timestamp URL`` lists: servers tried in order, each reply verified before it is used.

The loopback TSA (tests/support/tsa_server.py) builds its tokens with asn1crypto, not our code.
"""

from __future__ import annotations

import pytest
from asn1crypto import cms, tsp

from catalog.cms.tsa import TimestampUnavailableError, timestamp_servers
from tests.support.signing import pki
from tests.support.tsa_server import GEN_TIME, TsaConfig, running_tsa


def _config(mode: str = "good") -> TsaConfig:
    tsa = pki().tsa
    return TsaConfig(tsa.cert, tsa.key, chain=tsa.chain[:1], mode=mode)  # type: ignore[arg-type]


def _gen_time(token: bytes) -> object:
    info = cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].parsed
    return tsp.TSTInfo.load(info.dump())["gen_time"].native


def test_a_dead_and_a_lying_server_are_skipped_in_order() -> None:
    liar, good = _config("bad-imprint"), _config()
    with running_tsa(liar) as liar_url, running_tsa(good) as good_url:
        stamper = timestamp_servers(["http://127.0.0.1:9/dead", liar_url, good_url, good_url])
        assert stamper is not None
        assert stamper.urls == ("http://127.0.0.1:9/dead", liar_url, good_url)  # dupes dropped
        token = stamper(b"signature bytes")
    assert _gen_time(token) == GEN_TIME
    assert len(liar.requests) == 1
    assert len(good.requests) == 1


def test_every_server_failing_names_each_and_why() -> None:
    with running_tsa(_config("reject")) as refusing:
        stamper = timestamp_servers([refusing, "http://127.0.0.1:9/dead"])
        assert stamper is not None
        with pytest.raises(TimestampUnavailableError) as err:
            stamper(b"signature bytes")
    text = str(err.value)
    assert "refused" in text
    assert "127.0.0.1:9/dead" in text


def test_no_urls_means_no_timestamp() -> None:
    assert timestamp_servers([]) is None
    assert timestamp_servers(["  "]) is None

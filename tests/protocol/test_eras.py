"""Protocol versions and eras: classification, legacy negotiation, log levels, modern _meta."""

from __future__ import annotations

from mcpctl.protocol.eras import (
    ALL_VERSIONS,
    LATEST_LEGACY,
    LATEST_MODERN,
    LEGACY_VERSIONS,
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_PROTOCOL_VERSION,
    Era,
    era_of_version,
    is_modern_request,
    log_level_rank,
    modern_meta,
    negotiate_legacy,
)


def test_the_five_released_revisions() -> None:
    assert set(ALL_VERSIONS) == {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"}
    assert LATEST_MODERN == "2026-07-28"
    assert LATEST_LEGACY == "2025-11-25"
    assert list(LEGACY_VERSIONS) == sorted(LEGACY_VERSIONS, reverse=True)  # newest first


def test_era_of_version() -> None:
    assert era_of_version("2026-07-28") is Era.MODERN
    assert all(era_of_version(v) is Era.LEGACY for v in LEGACY_VERSIONS)
    assert era_of_version("2027-01-01") is None
    assert era_of_version("") is None


def test_legacy_negotiation_echoes_a_known_version_else_offers_the_latest() -> None:
    assert negotiate_legacy("2025-03-26") == "2025-03-26"
    for other in ("2026-07-28", "1999-01-01", None, 20250326, ""):
        assert negotiate_legacy(other) == LATEST_LEGACY, other


def test_modern_requests_are_recognised_by_their_meta() -> None:
    meta = modern_meta(LATEST_MODERN, {"name": "c", "version": "1"}, {"sampling": {}})
    assert meta == {
        META_PROTOCOL_VERSION: LATEST_MODERN,
        META_CLIENT_INFO: {"name": "c", "version": "1"},
        META_CLIENT_CAPABILITIES: {"sampling": {}},
    }
    assert is_modern_request({"method": "tools/list", "params": {"_meta": meta}})
    assert not is_modern_request({"method": "tools/list", "params": {"_meta": {META_CLIENT_INFO: {}}}})
    assert not is_modern_request({"method": "tools/list", "params": {"_meta": "garbage"}})
    assert not is_modern_request({"method": "initialize", "params": {"protocolVersion": LATEST_LEGACY}})


def test_log_level_ranks() -> None:
    assert (
        log_level_rank("debug")
        < log_level_rank("info")
        < log_level_rank("warning")
        < log_level_rank("emergency")
    )
    assert log_level_rank("loud") == log_level_rank(None) == log_level_rank("debug") == 0

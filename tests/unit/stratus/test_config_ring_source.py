"""`cluster.ring_source` and `ring_fetch_interval`: parsed and checked at start-up."""

from __future__ import annotations

import pytest

from stratus import config


def _load(**env: str) -> config.Config:
    return config.load(None, env={f"STRATUS_CLUSTER_{k.upper()}": v for k, v in env.items()})


def test_unset_means_push_only() -> None:
    assert _load().cluster.ring_source_address() is None


@pytest.mark.parametrize(
    ("text", "address"),
    [("10.0.0.1:6200", ("10.0.0.1", 6200)), ("[fd00::1]:6200", ("fd00::1", 6200))],
)
def test_host_port(text: str, address: tuple[str, int]) -> None:
    assert _load(ring_source=text).cluster.ring_source_address() == address


@pytest.mark.parametrize("text", ["10.0.0.1", ":6200", "h:0", "h:99999", "h:x"])
def test_bad_sources_are_refused(text: str) -> None:
    with pytest.raises(config.ConfigError, match="ring_source"):
        _load(ring_source=text)


def test_interval_is_bounded() -> None:
    with pytest.raises(config.ConfigError, match="ring_fetch_interval"):
        _load(ring_fetch_interval="0.1")

"""The test-only clock offset (``proxy.test_clock_offset``): refused outside tests, and in a
process that sets it, every timestamp and expiry that process makes runs that far off."""

from __future__ import annotations

import time

import pytest

from objectstore import timestamp
from objectstore.proxy.swift.headers import delete_at
from objectstore.timestamp import Timestamp
from stratus.config import TEST_HOOKS_ENV, Config, ConfigError


def test_the_knob_is_refused_without_the_test_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = Config()
    cfg.proxy.test_clock_offset = 30.0
    monkeypatch.delenv(TEST_HOOKS_ENV, raising=False)
    with pytest.raises(ConfigError, match=TEST_HOOKS_ENV):
        cfg.validate()
    monkeypatch.setenv(TEST_HOOKS_ENV, "1")
    cfg.validate()
    cfg.proxy.test_clock_offset = 86401.0
    with pytest.raises(ConfigError, match="within a day"):
        cfg.validate()


def test_timestamps_and_expiry_follow_the_offset() -> None:
    try:
        timestamp.set_test_clock_offset(30.0)
        ahead = Timestamp.now().seconds - time.time()
        assert 29.9 < ahead < 30.5
        assert 29.9 < timestamp.wall_clock() - time.time() < 30.5
        # X-Delete-After counts from the skewed clock; an X-Delete-At 10 s ahead of the
        # real clock is already past on a clock 30 s ahead.
        assert (delete_at({"X-Delete-After": "60"}) or 0) >= int(time.time()) + 89
        with pytest.raises(Exception, match="X-Delete-At in past"):
            delete_at({"X-Delete-At": str(int(time.time()) + 10)})
    finally:
        timestamp.set_test_clock_offset(0.0)
    assert abs(Timestamp.now().seconds - time.time()) < 0.5

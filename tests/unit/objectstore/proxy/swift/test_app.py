"""Transaction ids and their log filter."""

from __future__ import annotations

import logging
import re

from objectstore.client import TRANS_ID
from objectstore.proxy.swift.app import TransIdFilter, new_trans_id


def test_trans_id_form() -> None:
    ids = {new_trans_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"tx[0-9a-f]{21}-[0-9a-f]{10}", t) for t in ids)


def test_filter_appends_the_current_trans_id() -> None:
    rec = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    token = TRANS_ID.set("tx123")
    try:
        assert TransIdFilter().filter(rec)
        assert TransIdFilter().filter(rec)  # a second pass adds nothing
    finally:
        TRANS_ID.reset(token)
    assert rec.getMessage() == "hello you (txn: tx123)"
    plain = logging.LogRecord("x", logging.INFO, __file__, 1, "quiet", (), None)
    TransIdFilter().filter(plain)
    assert plain.getMessage() == "quiet"

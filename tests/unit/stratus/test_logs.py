"""stratus.logs: one format, with the request id, set up once."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from stratus.http import requestid
from stratus.logs import setup_logging


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_lines_carry_level_logger_process_and_request_id(restore_root: None) -> None:
    out = io.StringIO()
    setup_logging("info", stream=out)
    log = logging.getLogger("stratus.test")
    log.info("outside")
    token = requestid.CURRENT.set("req-42")
    try:
        log.warning("inside")
    finally:
        requestid.CURRENT.reset(token)
    log.debug("not shown")
    first, second = out.getvalue().splitlines()
    assert " INFO stratus.test[" in first and first.endswith("] -: outside")
    assert " WARNING stratus.test[" in second and second.endswith("] req-42: inside")


def test_setting_up_twice_does_not_double_lines(restore_root: None) -> None:
    out = io.StringIO()
    setup_logging(logging.INFO, stream=out)
    setup_logging(logging.INFO, stream=out)
    logging.getLogger("stratus.test").info("once")
    assert out.getvalue().count("once") == 1

"""Reading the client body: prefixes, lengths, and what a failure means."""

from __future__ import annotations

import pytest

from objectstore.proxy import errors
from objectstore.proxy.writes import check_length, client_error, read_prefix


async def _gen(*chunks: bytes):
    for c in chunks:
        yield c


async def test_read_prefix_stops_after_the_limit() -> None:
    chunks, size, rest = await read_prefix(_gen(b"aa", b"", b"bb", b"cc"), 3)
    assert (chunks, size) == ([b"aa", b"bb"], 4)
    assert rest is not None and [c async for c in rest] == [b"cc"]
    chunks, size, rest = await read_prefix(_gen(b"aa"), 3)
    assert (chunks, size, rest) == ([b"aa"], 2, None)


def test_check_length() -> None:
    check_length(5, 5, 10)
    check_length(5, None, 10)
    with pytest.raises(errors.EntityTooLarge):
        check_length(11, None, 10)
    with pytest.raises(errors.ClientDisconnected):
        check_length(4, 5, 10)


def test_client_error() -> None:
    assert isinstance(client_error(TimeoutError()), errors.ClientTimeout)
    assert isinstance(client_error(ConnectionResetError()), errors.ClientDisconnected)
    mine = errors.EntityTooLarge()
    assert client_error(mine) is mine

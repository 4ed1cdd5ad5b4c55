"""NodeClient: typed errors, row packing, body length guard, unreachable nodes."""

from __future__ import annotations

import inspect

import pytest

from objectstore.client import (
    AccountRowUpdate,
    Conflict,
    ContainerRowUpdate,
    InsufficientStorage,
    NodeClient,
    NodeError,
    NodeUnavailable,
    NotFound,
)
from objectstore.client import transport as client
from objectstore.client.dbs import Accounts, Containers
from objectstore.client.internal import InternalCalls
from objectstore.client.objects import Objects
from objectstore.common.values import error_for
from objectstore.timestamp import Timestamp
from tests.helpers.net import free_port


class Dev:
    def __init__(self, port: int) -> None:
        self.ip, self.port, self.device = "127.0.0.1", port, "d0"


def test_statuses_map_to_typed_errors() -> None:
    ts = Timestamp("5")
    assert isinstance(error_for(404, "", ts), NotFound) and error_for(404, "", ts).timestamp == ts
    assert isinstance(error_for(409), Conflict)
    assert isinstance(error_for(507), InsufficientStorage)
    err = error_for(503, "busy")
    assert type(err) is NodeError and err.status == 503 and "busy" in str(err)


def test_rows_round_trip() -> None:
    row = ContainerRowUpdate(3, "a", "c", "o/é", Timestamp("7.5"), 9, "e", "t", False)
    assert ContainerRowUpdate.unpack(row.pack()) == row
    arow = AccountRowUpdate(1, "a", "c", Timestamp("1"), None, 2, 3, Timestamp("4"))
    assert AccountRowUpdate.unpack(arow.pack()) == arow


def test_content_range() -> None:
    assert client._parse_content_range("bytes 0-9/100") == (0, 9, 100)
    assert client._parse_content_range(None) is None
    assert client._parse_content_range("bytes */100") is None


async def test_body_length_is_enforced() -> None:
    async def body(n: int):
        for _ in range(n):
            yield b"xx"

    assert [c async for c in client._Body(body(2), 4)] == [b"xx", b"xx"]
    for n in (1, 3):
        checked = client._Body(body(n), 4)
        with pytest.raises(client.ShortBody):
            [c async for c in checked]
        assert isinstance(checked.error, client.ShortBody)


async def test_unreachable_node_is_node_unavailable() -> None:
    session = NodeClient.make_session()
    try:
        c = NodeClient(session, conn_timeout=0.5, node_timeout=0.5)
        with pytest.raises(NodeUnavailable):
            await c.head_object(Dev(free_port()), 0, "a", "c", "o")
    finally:
        await session.close()


def test_trans_id_travels_in_context() -> None:
    token = client.TRANS_ID.set("tx123")
    try:
        assert NodeClient._headers(Timestamp("1"))["X-Trans-Id"] == "tx123"
    finally:
        client.TRANS_ID.reset(token)
    assert "X-Trans-Id" not in NodeClient._headers()


def test_node_client_offers_every_call_of_its_parts() -> None:
    """NodeClient is assembled from the resource modules: none of their calls is left out."""
    parts = (Objects, Containers, Accounts, InternalCalls)
    wanted = {
        fn for part in parts for name, fn in vars(part).items() if inspect.iscoroutinefunction(fn)
    }
    wanted = {fn for fn in wanted if not fn.__name__.startswith("_")}
    c = NodeClient(None)  # type: ignore[arg-type]  # nothing is sent
    offered = {m.__func__ for m in vars(c).values() if inspect.ismethod(m)}
    assert offered == wanted

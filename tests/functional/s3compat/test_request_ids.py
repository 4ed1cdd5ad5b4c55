"""An S3 request's id reaches the storage nodes, as a Swift request's does.

The id S3 answers in ``x-amz-request-id`` (and ``x-amz-id-2``) is the
shared request id of :mod:`stratus.http.requestid`: the node client sends
it on as ``X-Trans-Id``, so the proxy's and the nodes' log lines of one S3
request carry the same id.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web

from objectstore.node import server


@pytest.fixture
def node_trans_ids(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str | None]]:
    """(method, path, X-Trans-Id) of every request the nodes serve during the test."""
    seen: list[tuple[str, str, str | None]] = []
    route = server._route

    async def spy(state: Any, request: web.Request) -> web.StreamResponse:
        seen.append((request.method, request.path, request.headers.get("X-Trans-Id")))
        return await route(state, request)

    monkeypatch.setattr(server, "_route", spy)
    return seen


def test_the_nodes_get_the_id_s3_answered(
    s3: Any, bucket: str, node_trans_ids: list[tuple[str, str, str | None]]
) -> None:
    for call in (
        lambda: s3.put_object(Bucket=bucket, Key="traced", Body=b"x"),
        lambda: s3.get_object(Bucket=bucket, Key="traced"),
    ):
        node_trans_ids.clear()
        answer = call()["ResponseMetadata"]
        rid = answer["RequestId"]
        assert re.fullmatch(r"[0-9A-F]{16}", rid), rid
        assert answer["HTTPHeaders"]["x-amz-id-2"] == rid
        on_object = [t for m, p, t in node_trans_ids if p.endswith(f"/{bucket}/traced")]
        assert on_object, node_trans_ids
        assert set(on_object) == {rid}

"""Names at the API's limits (1,024-byte objects, 256-byte containers) through the
native API: listed, counted, deleted, and no container update left queued."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import quote

from objectstore.node.server import STATE
from tests.functional.objectstore.conftest import Cluster, SwiftHTTP

URL = "/v1/AUTH_long"
ASCII_MAX = "a" * 1000 + "/" + "b" * 23  # 1,024 bytes
EURO_MAX = "€" * 341 + "x"  # 1,024 bytes of UTF-8, 342 characters
CONTAINER_MAX = "€" * 85 + "c"  # 256 bytes


def _q(name: str) -> str:
    return quote(name, safe="")


def _pending(cluster: Cluster) -> int:
    return sum(sum(n.runner.app[STATE].async_pending().values()) for n in cluster.nodes)


async def _drained(cluster: Cluster, timeout: float = 10.0) -> int:
    """Queued container updates left once the updaters had their chance."""
    deadline = time.monotonic() + timeout
    while _pending(cluster) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return _pending(cluster)


async def _names(swift: SwiftHTTP, tok: str, container: str, query: str = "") -> list[str]:
    r = await swift("GET", f"{URL}/{_q(container)}?format=json{query}", token=tok)
    assert r.status == 200, r.status
    return [row.get("name", row.get("subdir")) for row in r.json()]


async def test_objects_with_names_at_the_limit_are_listed_counted_and_deleted(
    cluster: Cluster, swift: SwiftHTTP
) -> None:
    tok = cluster.token("long")
    assert (await swift("PUT", f"{URL}/box", token=tok)).status == 201
    for name, body in ((ASCII_MAX, b"12345"), (EURO_MAX, b"1234567")):
        assert len(name.encode()) == 1024
        assert (await swift("PUT", f"{URL}/box/{_q(name)}", token=tok, data=body)).status == 201
    assert await _drained(cluster) == 0  # nothing left to retry: every update was stored
    assert await _names(swift, tok, "box") == sorted([ASCII_MAX, EURO_MAX], key=str.encode)
    r = await swift("HEAD", f"{URL}/box", token=tok)
    assert r.headers["X-Container-Object-Count"] == "2"
    assert r.headers["X-Container-Bytes-Used"] == "12"
    assert await _names(swift, tok, "box", "&delimiter=/") == ["a" * 1000 + "/", EURO_MAX]
    assert await _names(swift, tok, "box", f"&marker={_q(ASCII_MAX)}") == [EURO_MAX]
    assert await _names(swift, tok, "box", f"&end_marker={_q(EURO_MAX)}") == [ASCII_MAX]

    assert (await swift("DELETE", f"{URL}/box/{_q(EURO_MAX)}", token=tok)).status == 204
    assert await _drained(cluster) == 0
    assert await _names(swift, tok, "box") == [ASCII_MAX]
    r = await swift("HEAD", f"{URL}/box", token=tok)
    assert r.headers["X-Container-Object-Count"] == "1"
    assert r.headers["X-Container-Bytes-Used"] == "5"
    assert (await swift("DELETE", f"{URL}/box/{_q(ASCII_MAX)}", token=tok)).status == 204
    assert await _names(swift, tok, "box") == []
    assert (await swift("DELETE", f"{URL}/box", token=tok)).status == 204  # empty: it goes


async def test_many_long_names_sharing_a_600_byte_prefix_list_in_exact_order(
    cluster: Cluster, swift: SwiftHTTP
) -> None:
    tok = cluster.token("long")
    assert (await swift("PUT", f"{URL}/shared", token=tok)).status == 201
    head = "p" * 300 + "€" * 100  # 600 bytes
    names = [f"{head}{i:03d}/{'t' * (i % 5) * 80}{i}" for i in range(40)]
    names += [f"{head}{i:03d}" for i in range(0, 40, 3)]  # the "directory" names themselves
    names += [head, "p" * 300]  # the prefix alone, and a short name it starts with
    results = await asyncio.gather(
        *(swift("PUT", f"{URL}/shared/{_q(n)}", token=tok, data=b"x") for n in names)
    )
    assert {r.status for r in results} == {201}
    assert await _drained(cluster) == 0
    ordered = sorted(names, key=str.encode)
    assert await _names(swift, tok, "shared") == ordered
    assert await _names(swift, tok, "shared", "&reverse=on") == ordered[::-1]
    paged: list[str] = []
    marker = ""
    while True:
        page = await _names(swift, tok, "shared", f"&limit=7&marker={_q(marker)}")
        if not page:
            break
        paged += page
        marker = page[-1]
    assert paged == ordered
    # Backwards from a marker in the middle of the long names.
    mid = ordered[25]
    assert await _names(swift, tok, "shared", f"&reverse=on&marker={_q(mid)}&limit=9") == list(
        reversed(ordered[16:25])
    )
    rolled = await _names(swift, tok, "shared", f"&prefix={_q(head)}&delimiter=/")
    expected: list[str] = []
    for n in ordered:
        if not n.startswith(head):
            continue
        cut = n.find("/", len(head))
        item = n[: cut + 1] if cut >= 0 else n
        if not expected or expected[-1] != item:
            expected.append(item)
    assert rolled == expected
    r = await swift("HEAD", f"{URL}/shared", token=tok)
    assert r.headers["X-Container-Object-Count"] == str(len(names))


async def test_containers_with_names_at_the_limit_are_listed_in_the_account(
    cluster: Cluster, swift: SwiftHTTP
) -> None:
    tok = cluster.token("long")
    names = [CONTAINER_MAX, "c" * 256, "c" * 255]
    for name in names:
        assert len(name.encode()) <= 256
        assert (await swift("PUT", f"{URL}/{_q(name)}", token=tok)).status == 201
    r = await swift("PUT", f"{URL}/{_q(CONTAINER_MAX)}/o", token=tok, data=b"abc")
    assert r.status == 201
    deadline = time.monotonic() + 10
    while True:  # the account hears of containers and their stats asynchronously
        r = await swift("GET", f"{URL}?format=json", token=tok)
        rows = {row["name"]: (row["count"], row["bytes"]) for row in r.json()}
        if rows.get(CONTAINER_MAX) == (1, 3) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert list(rows) == sorted(names, key=str.encode)
    assert rows[CONTAINER_MAX] == (1, 3)
    assert r.headers["X-Account-Container-Count"] == "3"
    assert (await swift("DELETE", f"{URL}/{_q(CONTAINER_MAX)}/o", token=tok)).status == 204
    assert (await swift("DELETE", f"{URL}/{_q(CONTAINER_MAX)}", token=tok)).status == 204
    r = await swift("GET", f"{URL}?format=json", token=tok)
    assert [row["name"] for row in r.json()] == ["c" * 255, "c" * 256]

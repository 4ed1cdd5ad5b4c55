"""Container and account quotas (Swift's container_quotas / account_quotas) on a real cluster."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.functional.objectstore.conftest import Cluster, SwiftHTTP

ACCT = "/v1/AUTH_quota"
HTML = "text/html; charset=UTF-8"
EXCEEDS = b"Upload exceeds quota."
FORBIDDEN = b"<html><h1>Forbidden</h1><p>Access was denied to this resource.</p></html>"


@pytest.fixture
async def owner(cluster: Cluster, swift: SwiftHTTP) -> str:
    """The project's admin (Swift's account .admin user)."""
    token = cluster.token("quota", "owner", role="admin")
    assert (await swift("PUT", f"{ACCT}/c", token=token)).status == 201
    return token


@pytest.fixture
def operator(cluster: Cluster) -> str:
    """The cloud's operator: Swift's reseller admin."""
    return cluster.token("admin", "admin", role="admin")


async def _settled(swift: SwiftHTTP, token: str, objects: int) -> None:
    """Account stats arrive by the containers' asynchronous updates, as in Swift."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r = await swift("HEAD", ACCT, token=token)
        if int(r.headers["X-Account-Object-Count"]) == objects:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("account stats never arrived")


# -- container quotas --------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "POST"])
async def test_container_quota_values_are_validated(
    swift: SwiftHTTP, owner: str, method: str
) -> None:
    for header, body in (
        ("X-Container-Meta-Quota-Bytes", b"Invalid bytes quota."),
        ("X-Container-Meta-Quota-Count", b"Invalid count quota."),
    ):
        for bad in ("abc", "-1", "1.5"):
            r = await swift(method, f"{ACCT}/c", token=owner, headers={header: bad})
            assert (r.status, r.body) == (400, body)
            assert r.headers["Content-Type"] == HTML
    ok = await swift(method, f"{ACCT}/c", token=owner, headers={"X-Container-Meta-Quota-Bytes": ""})
    assert ok.status in (202, 204)


async def test_container_byte_quota(swift: SwiftHTTP, owner: str) -> None:
    headers = {"X-Container-Meta-Quota-Bytes": "10"}
    assert (await swift("POST", f"{ACCT}/c", token=owner, headers=headers)).status == 204
    assert (await swift("PUT", f"{ACCT}/c/a", token=owner, data=b"12345")).status == 201
    r = await swift("PUT", f"{ACCT}/c/b", token=owner, data=b"123456")
    assert (r.status, r.body) == (413, EXCEEDS)
    assert r.headers["Content-Type"] == HTML
    assert (await swift("PUT", f"{ACCT}/c/b", token=owner, data=b"12345")).status == 201
    # Full: an empty object still fits, one more byte does not.
    assert (await swift("PUT", f"{ACCT}/c/empty", token=owner, data=b"")).status == 201
    assert (await swift("PUT", f"{ACCT}/c/x", token=owner, data=b"1")).status == 413
    r = await swift("HEAD", f"{ACCT}/c", token=owner)
    assert r.headers["X-Container-Meta-Quota-Bytes"] == "10"
    assert r.headers["X-Container-Bytes-Used"] == "10"
    # Removing the quota lifts it.
    headers = {"X-Remove-Container-Meta-Quota-Bytes": "x"}
    assert (await swift("POST", f"{ACCT}/c", token=owner, headers=headers)).status == 204
    assert (await swift("PUT", f"{ACCT}/c/x", token=owner, data=b"1")).status == 201


async def test_container_count_quota(swift: SwiftHTTP, owner: str) -> None:
    headers = {"X-Container-Meta-Quota-Count": "2"}
    assert (await swift("POST", f"{ACCT}/c", token=owner, headers=headers)).status == 204
    assert (await swift("PUT", f"{ACCT}/c/1", token=owner, data=b"")).status == 201
    assert (await swift("PUT", f"{ACCT}/c/2", token=owner, data=b"")).status == 201
    r = await swift("PUT", f"{ACCT}/c/3", token=owner, data=b"")
    assert (r.status, r.body) == (413, EXCEEDS)
    # Deletes and other writes are never limited.
    assert (await swift("POST", f"{ACCT}/c/1", token=owner)).status == 202
    assert (await swift("DELETE", f"{ACCT}/c/1", token=owner)).status == 204
    assert (await swift("PUT", f"{ACCT}/c/3", token=owner, data=b"")).status == 201


async def test_container_quota_counts_copies(swift: SwiftHTTP, owner: str) -> None:
    assert (await swift("PUT", f"{ACCT}/src", token=owner)).status == 201
    assert (await swift("PUT", f"{ACCT}/src/big", token=owner, data=b"x" * 8)).status == 201
    assert (await swift("PUT", f"{ACCT}/src/small", token=owner, data=b"x")).status == 201
    headers = {"X-Container-Meta-Quota-Bytes": "5"}
    assert (await swift("POST", f"{ACCT}/c", token=owner, headers=headers)).status == 204
    r = await swift("PUT", f"{ACCT}/c/o", token=owner, headers={"X-Copy-From": "src/big"})
    assert (r.status, r.body) == (413, EXCEEDS)
    r = await swift("COPY", f"{ACCT}/src/big", token=owner, headers={"Destination": "c/o"})
    assert (r.status, r.body) == (413, EXCEEDS)
    r = await swift("COPY", f"{ACCT}/src/small", token=owner, headers={"Destination": "/c/o"})
    assert r.status == 201
    # A copy that fails on its own fails as it would without a quota.
    r = await swift("PUT", f"{ACCT}/c/o2", token=owner, headers={"X-Copy-From": "src/none"})
    assert r.status == 404
    # Copies out of the full container are not limited.
    r = await swift("COPY", f"{ACCT}/c/o", token=owner, headers={"Destination": "src/o"})
    assert r.status == 201


async def test_chunked_upload_is_refused_only_once_over(swift: SwiftHTTP, owner: str) -> None:
    headers = {"X-Container-Meta-Quota-Bytes": "4"}
    assert (await swift("POST", f"{ACCT}/c", token=owner, headers=headers)).status == 204

    async def body(data: bytes):  # type: ignore[no-untyped-def]
        yield data

    # Swift cannot know a chunked upload's size: it passes while the container is within.
    r = await swift("PUT", f"{ACCT}/c/a", token=owner, data=body(b"123456"))
    assert r.status == 201
    r = await swift("PUT", f"{ACCT}/c/b", token=owner, data=body(b"1"))
    assert (r.status, r.body) == (413, EXCEEDS)


async def test_container_quota_denies_strangers_first(
    cluster: Cluster, swift: SwiftHTTP, owner: str
) -> None:
    headers = {"X-Container-Meta-Quota-Count": "0", "X-Container-Write": "other:*"}
    assert (await swift("POST", f"{ACCT}/c", token=owner, headers=headers)).status == 204
    stranger = cluster.token("stranger")
    assert (await swift("PUT", f"{ACCT}/c/o", token=stranger, data=b"")).status == 403
    assert (await swift("PUT", f"{ACCT}/c/o", data=b"")).status == 401
    # A writer by ACL meets the quota.
    writer = cluster.token("other")
    r = await swift("PUT", f"{ACCT}/c/o", token=writer, data=b"")
    assert (r.status, r.body) == (413, EXCEEDS)


async def test_quota_on_a_missing_container_is_a_404(swift: SwiftHTTP, owner: str) -> None:
    assert (await swift("PUT", f"{ACCT}/nope/o", token=owner, data=b"x")).status == 404


# -- account quotas ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "X-Account-Meta-Quota-Bytes",
        "X-Account-Quota-Bytes",
        "X-Account-Quota-Count",
        "X-Account-Quota-Bytes-Policy-Policy-0",
        "X-Account-Quota-Count-Policy-Policy-0",
        "X-Remove-Account-Meta-Quota-Bytes",
        "X-Remove-Account-Quota-Count",
    ],
)
async def test_only_the_operator_sets_account_quotas(
    cluster: Cluster, swift: SwiftHTTP, owner: str, header: str
) -> None:
    member = cluster.token("quota", "member")
    for token in (owner, member, None):
        r = await swift("POST", ACCT, token=token, headers={header: "100"})
        assert r.status == 403, token
        assert r.body == FORBIDDEN
    r = await swift("HEAD", ACCT, token=owner)
    assert "X-Account-Quota-Bytes" not in r.headers
    assert "X-Account-Meta-Quota-Bytes" not in r.headers


async def test_operator_sets_shows_and_removes_account_quotas(
    swift: SwiftHTTP, owner: str, operator: str
) -> None:
    r = await swift("POST", ACCT, token=operator, headers={"X-Account-Quota-Bytes": "abc"})
    assert r.status == 400 and r.headers["Content-Type"] == HTML
    assert b"<h1>Bad Request</h1>" in r.body
    r = await swift("POST", ACCT, token=operator, headers={"X-Account-Quota-Count": "-3"})
    assert r.status == 400
    headers = {
        "X-Account-Meta-Quota-Bytes": "1000",
        "X-Account-Quota-Count": "50",
        "X-Account-Quota-Bytes-Policy-Policy-0": "900",
    }
    assert (await swift("POST", ACCT, token=operator, headers=headers)).status == 204
    for method in ("HEAD", "GET"):
        r = await swift(method, ACCT, token=owner)  # the owner may read them
        assert r.headers["X-Account-Quota-Bytes"] == "1000"
        assert r.headers["X-Account-Meta-Quota-Bytes"] == "1000"
        assert r.headers["X-Account-Quota-Count"] == "50"
        assert r.headers["X-Account-Quota-Bytes-Policy-Policy-0"] == "900"
    # The owner changes other metadata freely; the quota stays.
    r = await swift("POST", ACCT, token=owner, headers={"X-Account-Meta-Color": "red"})
    assert r.status == 204
    assert (await swift("HEAD", ACCT, token=owner)).headers["X-Account-Quota-Count"] == "50"
    headers = {
        "X-Remove-Account-Meta-Quota-Bytes": "x",
        "X-Account-Quota-Count": "",
        "X-Remove-Account-Quota-Bytes-Policy-Policy-0": "x",
    }
    assert (await swift("POST", ACCT, token=operator, headers=headers)).status == 204
    r = await swift("HEAD", ACCT, token=owner)
    assert not [h for h in r.headers if "quota" in h.lower()]


async def test_account_byte_quota(swift: SwiftHTTP, owner: str, operator: str) -> None:
    assert (await swift("PUT", f"{ACCT}/c/a", token=owner, data=b"x" * 6)).status == 201
    await _settled(swift, owner, 1)
    headers = {"X-Account-Meta-Quota-Bytes": "10"}
    assert (await swift("POST", ACCT, token=operator, headers=headers)).status == 204
    r = await swift("PUT", f"{ACCT}/c/b", token=owner, data=b"x" * 5)
    assert (r.status, r.body) == (413, EXCEEDS)
    assert r.headers["Content-Type"] == HTML
    # Copies count, in any container of the account.
    assert (await swift("PUT", f"{ACCT}/d", token=owner)).status == 201
    r = await swift("PUT", f"{ACCT}/d/b", token=owner, headers={"X-Copy-From": "c/a"})
    assert (r.status, r.body) == (413, EXCEEDS)
    r = await swift("COPY", f"{ACCT}/c/a", token=owner, headers={"Destination": "d/b"})
    assert (r.status, r.body) == (413, EXCEEDS)
    assert (await swift("PUT", f"{ACCT}/d/b", token=owner, data=b"x" * 4)).status == 201
    # The operator is never limited.
    assert (await swift("PUT", f"{ACCT}/d/op", token=operator, data=b"x" * 50)).status == 201


async def test_account_count_and_policy_quotas(swift: SwiftHTTP, owner: str, operator: str) -> None:
    assert (await swift("PUT", f"{ACCT}/c/a", token=owner, data=b"x")).status == 201
    await _settled(swift, owner, 1)
    headers = {"X-Account-Quota-Count": "1"}
    assert (await swift("POST", ACCT, token=operator, headers=headers)).status == 204
    r = await swift("PUT", f"{ACCT}/c/b", token=owner, data=b"")
    assert (r.status, r.body) == (413, EXCEEDS)
    headers = {"X-Account-Quota-Count": "", "X-Account-Quota-Bytes-Policy-Policy-0": "1"}
    assert (await swift("POST", ACCT, token=operator, headers=headers)).status == 204
    r = await swift("PUT", f"{ACCT}/c/b", token=owner, data=b"x")
    assert (r.status, r.body) == (413, b"Upload exceeds policy quota.")
    headers = {"X-Account-Quota-Count-Policy-Policy-0": "1"}
    headers["X-Remove-Account-Quota-Bytes-Policy-Policy-0"] = "x"
    assert (await swift("POST", ACCT, token=operator, headers=headers)).status == 204
    r = await swift("PUT", f"{ACCT}/c/b", token=owner, data=b"")
    assert (r.status, r.body) == (413, b"Upload exceeds policy quota.")


async def test_account_quota_denies_strangers_first(
    cluster: Cluster, swift: SwiftHTTP, owner: str, operator: str
) -> None:
    headers = {"X-Account-Quota-Count": "0"}
    assert (await swift("POST", ACCT, token=operator, headers=headers)).status == 204
    stranger = cluster.token("stranger")
    assert (await swift("PUT", f"{ACCT}/c/o", token=stranger, data=b"")).status == 403
    assert (await swift("PUT", f"{ACCT}/c/o", data=b"")).status == 401
    r = await swift("PUT", f"{ACCT}/c/o", token=owner, data=b"")
    assert (r.status, r.body) == (413, EXCEEDS)


async def test_quota_sections_in_info(swift: SwiftHTTP) -> None:
    info = (await swift("GET", "/info")).json()
    assert info["container_quotas"] == {}
    assert info["account_quotas"] == {}

"""Tokens, roles, reseller admins and container ACLs through the native API."""

from __future__ import annotations

import re

from tests.functional.objectstore.conftest import Cluster, SwiftHTTP

OWNER = "/v1/AUTH_owner"


async def _setup(cluster: Cluster, swift: SwiftHTTP, **acls: str) -> str:
    # ACLs are set by the project's admin; a member makes the container when there are none
    tok = cluster.token("owner", "boss", role="admin") if acls else cluster.token("owner")
    headers = {f"X-Container-{k.capitalize()}": v for k, v in acls.items()}
    assert (await swift("PUT", f"{OWNER}/c", token=tok, headers=headers)).status == 201
    assert (await swift("PUT", f"{OWNER}/c/o", token=tok, data=b"secret")).status == 201
    return tok


async def test_missing_bad_and_expired_tokens(cluster: Cluster, swift: SwiftHTTP) -> None:
    await _setup(cluster, swift)
    r = await swift("GET", f"{OWNER}/c/o")
    assert r.status == 401
    assert b"<h1>Unauthorized</h1>" in r.body
    assert (await swift("GET", f"{OWNER}/c/o", token="tk_bogus")).status == 401
    tok = cluster.token("owner")
    assert (await swift("GET", f"{OWNER}/c/o", token=tok)).status == 200
    real = cluster.identity.clock
    cluster.identity.clock = lambda: real() + 7200  # every token issued above has expired
    try:
        assert (await swift("GET", f"{OWNER}/c/o", token=tok)).status == 401
    finally:
        cluster.identity.clock = real


async def test_other_project_is_forbidden(cluster: Cluster, swift: SwiftHTTP) -> None:
    await _setup(cluster, swift)
    other = cluster.token("other")
    for method, path in (
        ("GET", OWNER),
        ("HEAD", f"{OWNER}/c"),
        ("GET", f"{OWNER}/c"),
        ("GET", f"{OWNER}/c/o"),
        ("PUT", f"{OWNER}/c/new"),
        ("DELETE", f"{OWNER}/c/o"),
        ("PUT", f"{OWNER}/c2"),
        ("POST", f"{OWNER}/c"),
    ):
        r = await swift(method, path, token=other, data=b"x" if method == "PUT" else None)
        assert r.status == 403, (method, path)


async def test_read_acl_grants(cluster: Cluster, swift: SwiftHTTP) -> None:
    owner = await _setup(cluster, swift, read="other:*")
    other = cluster.token("other", "bob")
    stranger = cluster.token("stranger")
    assert (await swift("GET", f"{OWNER}/c/o", token=other)).body == b"secret"
    r = await swift("GET", f"{OWNER}/c", token=other)
    assert r.text == "o\n"
    r = await swift("HEAD", f"{OWNER}/c", token=other)
    assert r.status == 204 and "X-Container-Read" not in r.headers  # ACLs are the owner's
    assert "X-Container-Read" in (await swift("HEAD", f"{OWNER}/c", token=owner)).headers
    assert (await swift("PUT", f"{OWNER}/c/w", token=other, data=b"x")).status == 403
    assert (await swift("GET", f"{OWNER}/c/o", token=stranger)).status == 403
    assert (await swift("GET", f"{OWNER}/c/o")).status == 401


async def test_user_acl_and_write_acl(cluster: Cluster, swift: SwiftHTTP) -> None:
    await _setup(cluster, swift, read="other:alice", write="other:alice")
    alice = cluster.token("other", "alice")
    bob = cluster.token("other", "bob")
    r = await swift("PUT", f"{OWNER}/c/from-alice", token=alice, data=b"hi")
    assert r.status == 201
    assert (await swift("GET", f"{OWNER}/c/from-alice", token=alice)).body == b"hi"
    assert (await swift("DELETE", f"{OWNER}/c/from-alice", token=alice)).status == 204
    assert (await swift("PUT", f"{OWNER}/c/from-bob", token=bob, data=b"x")).status == 403
    assert (await swift("DELETE", f"{OWNER}/c", token=alice)).status == 403  # not the owner


async def test_public_read(cluster: Cluster, swift: SwiftHTTP) -> None:
    owner = await _setup(cluster, swift, read=".r:*")
    assert (await swift("GET", f"{OWNER}/c/o")).body == b"secret"
    assert (await swift("GET", f"{OWNER}/c")).status == 401  # no listing without .rlistings
    await swift("POST", f"{OWNER}/c", token=owner, headers={"X-Container-Read": ".r:*,.rlistings"})
    cluster.core._forget("AUTH_owner", "c")  # another proxy would see it after info_ttl
    r = await swift("GET", f"{OWNER}/c")
    assert (r.status, r.text) == (200, "o\n")
    assert (await swift("PUT", f"{OWNER}/c/anon", data=b"x")).status == 401


async def test_reseller_admin(cluster: Cluster, swift: SwiftHTTP) -> None:
    await _setup(cluster, swift)
    admin = cluster.token("admin", "admin", role="admin")
    assert (await swift("GET", f"{OWNER}/c/o", token=admin)).body == b"secret"
    assert (await swift("PUT", f"{OWNER}/c/by-admin", token=admin, data=b"a")).status == 201
    member_of_admin = cluster.token("admin", "plain", role="member")
    assert (await swift("GET", f"{OWNER}/c/o", token=member_of_admin)).status == 403


async def test_auth_endpoint_and_trans_ids(cluster: Cluster, swift: SwiftHTTP) -> None:
    cluster.token("owner", "keyed")
    key = cluster.key("owner", "keyed")
    r = await swift("GET", "/auth/v1.0", headers={"X-Auth-User": "owner:keyed", "X-Auth-Key": key})
    assert r.status == 200
    token = r.headers["X-Auth-Token"]
    assert r.headers["X-Storage-Url"].endswith("/v1/AUTH_owner")
    assert (await swift("PUT", f"{OWNER}/viaauth", token=token)).status == 201
    bad = await swift(
        "GET", "/auth/v1.0", headers={"X-Auth-User": "owner:keyed", "X-Auth-Key": "no"}
    )
    assert bad.status == 401
    seen = set()
    for method, path in (("GET", "/info"), ("GET", f"{OWNER}/nope"), ("PUT", f"{OWNER}/viaauth")):
        r = await swift(method, path, token=token)
        tx = r.headers["X-Trans-Id"]
        assert re.fullmatch(r"tx[0-9a-f]{21}-[0-9a-f]{10}", tx)
        assert r.headers["X-Openstack-Request-Id"] == tx
        seen.add(tx)
    assert len(seen) == 3


async def test_info(swift: SwiftHTTP) -> None:
    r = await swift("GET", "/info")
    info = r.json()["swift"]
    assert info["max_file_size"] == 5 * 1024**3 + 2
    assert info["max_object_name_length"] == 1024
    assert info["container_listing_limit"] == 10000
    assert info["account_listing_limit"] == 10000
    assert (info["max_meta_name_length"], info["max_meta_value_length"]) == (128, 256)
    assert (info["max_meta_count"], info["max_meta_overall_size"]) == (90, 4096)
    assert (await swift("POST", "/info")).status == 405


async def test_log_lines_carry_the_trans_id(cluster: Cluster, swift: SwiftHTTP, caplog) -> None:
    tok = cluster.token("owner")
    await swift("PUT", f"{OWNER}/c", token=tok)
    await cluster.stop_node(0)
    caplog.set_level("INFO", logger="objectstore.proxy")
    r = await swift("PUT", f"{OWNER}/c/o", token=tok, data=b"x")
    assert r.status == 201
    tx = r.headers["X-Trans-Id"]
    lines = [rec.getMessage() for rec in caplog.records if rec.name.startswith("objectstore.proxy")]
    assert lines and all(f"(txn: {tx})" in line for line in lines)


ACL_CHANGES = (
    {"X-Container-Read": ".r:*"},
    {"X-Container-Read": "other:*"},
    {"X-Container-Write": "other:*"},
    {"X-Remove-Container-Read": "x"},
    {"X-Remove-Container-Write": "x"},
    {"X-Container-Read": ".bad:x"},  # no hint of validity either: 403 before 400
)


async def test_only_the_project_admin_changes_container_acls(
    cluster: Cluster, swift: SwiftHTTP
) -> None:
    member = cluster.token("owner", "mem", role="member")
    reader = cluster.token("owner", "rea", role="reader")
    admin = cluster.token("owner", "boss", role="admin")
    assert (await swift("PUT", f"{OWNER}/c", token=member)).status == 201
    for headers in ACL_CHANGES:
        r = await swift("PUT", f"{OWNER}/c", token=member, headers=headers)
        assert r.status == 403, headers
        assert (await swift("POST", f"{OWNER}/c", token=member, headers=headers)).status == 403
        r = await swift("PUT", f"{OWNER}/made-with-acl", token=member, headers=headers)
        assert r.status == 403, headers
        assert (await swift("POST", f"{OWNER}/c", token=reader, headers=headers)).status == 403
    assert (await swift("HEAD", f"{OWNER}/made-with-acl", token=admin)).status == 404
    assert "X-Container-Read" not in (await swift("HEAD", f"{OWNER}/c", token=admin)).headers
    assert (await swift("GET", f"{OWNER}/c/o")).status == 401  # still private
    # everything else stays the member's: metadata, objects, containers
    meta = {"X-Container-Meta-Color": "blue"}
    assert (await swift("POST", f"{OWNER}/c", token=member, headers=meta)).status == 204
    assert (await swift("PUT", f"{OWNER}/c/o", token=member, data=b"x")).status == 201
    assert (await swift("GET", f"{OWNER}/c/o", token=member)).body == b"x"
    assert (await swift("DELETE", f"{OWNER}/c/o", token=member)).status == 204
    assert (await swift("PUT", f"{OWNER}/c2", token=member, headers=meta)).status == 201
    assert (await swift("DELETE", f"{OWNER}/c2", token=member)).status == 204
    # the project admin, and the cloud admin, may share and publish
    r = await swift("POST", f"{OWNER}/c", token=admin, headers={"X-Container-Read": ".r:*"})
    assert r.status == 204
    reseller = cluster.token("admin", "admin", role="admin")
    r = await swift("POST", f"{OWNER}/c", token=reseller, headers={"X-Remove-Container-Read": "x"})
    assert r.status == 204


async def test_no_existence_leak_without_read_access(cluster: Cluster, swift: SwiftHTTP) -> None:
    """Whether an object or container exists is not told to who may not read it."""
    owner = await _setup(cluster, swift, write="other:writer")  # a write-only grant
    other = cluster.token("other", "bob")
    writer = cluster.token("other", "writer")
    paths = (
        f"{OWNER}/c/o",  # exists
        f"{OWNER}/c/missing",  # container exists, object does not
        f"{OWNER}/nocontainer/o",  # neither
        "/v1/AUTH_noproject/c/o",  # not even the account
    )
    for token, denied in ((other, 403), (writer, 403), (None, 401)):
        for method in ("GET", "HEAD"):
            for path in paths:
                r = await swift(method, path, token=token)
                assert r.status == denied, (token == writer, method, path)
            for path in (f"{OWNER}/c", f"{OWNER}/nocontainer", "/v1/AUTH_noproject/c"):
                r = await swift(method, path, token=token)
                assert r.status == denied, (token == writer, method, path)
        for method in ("POST", "DELETE"):  # never a 404 that says what is missing
            for path in (f"{OWNER}/nocontainer/o", f"{OWNER}/nocontainer"):
                r = await swift(method, path, token=None if token is None else other)
                assert r.status == (401 if token is None else 403), (method, path)
    # conditional and copy requests take the same path
    r = await swift("HEAD", f"{OWNER}/c/missing", token=other, headers={"If-Match": "*"})
    assert r.status == 403
    r = await swift("PUT", f"{OWNER}/c/copy", token=writer, headers={"X-Copy-From": "c/missing"})
    assert r.status == 403  # reading the source needs read access, existing or not
    r = await swift(
        "PUT", f"{OWNER}/c/copy", token=writer, headers={"X-Copy-From": "nocontainer/x"}
    )
    assert r.status == 403
    assert (await swift("GET", f"{OWNER}/c/o", token=owner)).body == b"secret"


async def test_an_acl_only_user_gets_exactly_what_container_acls_grant(
    cluster: Cluster, swift: SwiftHTTP
) -> None:
    """Swift's ACL-only user (tempauth's non-admin, keystoneauth's non-operator): role
    ``acl-only`` reads nothing of its own project unless an ACL names it."""
    boss = cluster.token("owner", "boss", role="admin")
    carol = cluster.token("owner", "carol", role="acl-only")
    for name, headers in (
        ("shared", {"X-Container-Read": "owner:carol"}),
        ("dropbox", {"X-Container-Write": "owner:carol"}),  # write-only: no read
        ("closed", {}),
    ):
        assert (await swift("PUT", f"{OWNER}/{name}", token=boss, headers=headers)).status == 201
        assert (await swift("PUT", f"{OWNER}/{name}/o", token=boss, data=b"s")).status == 201
    assert (await swift("GET", OWNER, token=carol)).status == 403
    assert (await swift("HEAD", OWNER, token=carol)).status == 403
    assert (await swift("PUT", f"{OWNER}/mine", token=carol)).status == 403
    assert (await swift("GET", f"{OWNER}/closed/o", token=carol)).status == 403
    assert (await swift("GET", f"{OWNER}/closed", token=carol)).status == 403
    assert (await swift("GET", f"{OWNER}/shared/o", token=carol)).body == b"s"
    assert (await swift("PUT", f"{OWNER}/shared/x", token=carol, data=b"x")).status == 403
    assert (await swift("PUT", f"{OWNER}/dropbox/x", token=carol, data=b"x")).status == 201
    assert (await swift("GET", f"{OWNER}/dropbox/x", token=carol)).status == 403
    assert (await swift("GET", f"{OWNER}/dropbox", token=carol)).status == 403
    assert (await swift("DELETE", f"{OWNER}/dropbox/x", token=carol)).status == 204
    assert (await swift("POST", f"{OWNER}/shared", token=carol)).status == 403

"""Role ``acl-only`` through the Swift API: Swift's ACL-only user, end to end.

tempauth's non-admin user (and keystoneauth's user without an operator
role) owns nothing: it reaches exactly the containers whose ACLs name it,
its own project's as much as another's, with the right named and no more.
"""

from __future__ import annotations

from tests.functional.objectstore.conftest import Cluster, SwiftHTTP

OWNER = "/v1/AUTH_owner"
OTHER = "/v1/AUTH_other"


async def test_an_acl_only_user_lists_and_reads_only_what_acls_name(
    cluster: Cluster, swift: SwiftHTTP
) -> None:
    boss = cluster.token("owner", "boss", role="admin")
    stranger = cluster.token("other", "olga", role="admin")
    carol = cluster.token("owner", "carol", role="acl-only")
    for base, tok in ((OWNER, boss), (OTHER, stranger)):
        acl = {"X-Container-Read": "owner:carol"}
        assert (await swift("PUT", f"{base}/shared", token=tok, headers=acl)).status == 201
        assert (await swift("PUT", f"{base}/shared/o", token=tok, data=b"s")).status == 201
    for base in (OWNER, OTHER):  # her own project's container or another's: the ACL decides
        listing = await swift("GET", f"{base}/shared", token=carol)
        assert listing.status == 200 and listing.body == b"o\n"
        assert (await swift("HEAD", f"{base}/shared", token=carol)).status == 204
        assert (await swift("GET", f"{base}/shared/o", token=carol)).body == b"s"
        # read, not write; and never who else gets in
        assert (await swift("PUT", f"{base}/shared/x", token=carol, data=b"x")).status == 403
        for headers in ({"X-Container-Read": ".r:*"}, {"X-Container-Write": "owner:carol"}):
            r = await swift("POST", f"{base}/shared", token=carol, headers=headers)
            assert r.status == 403
        assert (await swift("DELETE", f"{base}/shared", token=carol)).status == 403
    # the ACL gone, nothing is left
    r = await swift("POST", f"{OWNER}/shared", token=boss, headers={"X-Remove-Container-Read": "x"})
    assert r.status == 204
    assert (await swift("GET", f"{OWNER}/shared/o", token=carol)).status == 403
    assert (await swift("GET", f"{OWNER}/shared", token=carol)).status == 403
    assert (await swift("GET", OWNER, token=carol)).status == 403
    # with the project's roles the same user reads the whole project (the control)
    member = cluster.token("owner", "carol", role="member")
    assert (await swift("GET", f"{OWNER}/shared/o", token=member)).body == b"s"

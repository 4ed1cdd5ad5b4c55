"""Role ``acl-only`` through the compute API (Nova and Neutron shapes): refused, reads included.

An ACL-only user has rights only where object-store ACLs name it; the
compute service has no ACLs, so every call is 403 in Nova's error form,
while a member of the same project is served (the control).
"""

from __future__ import annotations

import json

from tests.functional.compute_glue.networks.conftest import nets  # noqa: F401
from tests.functional.compute_glue.servers.test_fuzz_api import (  # noqa: F401
    SERVER,
    Compute,
    compute,
    fill,
    send,
    setup_ids,
)

CALLS = (
    ("GET", "/v2.1/servers", b""),
    ("GET", "/v2.1/servers/detail", b""),
    ("GET", "/v2.1/servers/{server}", b""),
    ("POST", "/v2.1/servers", SERVER),
    ("POST", "/v2.1/servers/{server}/action", {"os-stop": None}),
    ("DELETE", "/v2.1/servers/{server}", b""),
    ("GET", "/v2.1/flavors", b""),
    ("GET", "/v2.0/networks", b""),
    ("GET", "/v2.0/networks/{net}", b""),
    ("POST", "/v2.0/networks", {"network": {"name": "n"}}),
    ("DELETE", "/v2.0/networks/{net}", b""),
)


async def test_an_acl_only_user_has_no_compute_or_network_rights(compute: Compute) -> None:  # noqa: F811
    member = compute.nets.token("alpha", "user")
    await setup_ids(compute, member)
    carol = compute.nets.token("alpha", "carol", "acl-only")
    for method, path, body in CALLS:
        raw = body if isinstance(body, bytes) else fill(json.dumps(body), compute.ids).encode()
        status, reply = await send(compute, carol, method, fill(path, compute.ids), raw)
        assert status == 403, (method, path, reply[:200])
        if path.startswith("/v2.1"):
            assert json.loads(reply)["forbidden"]["code"] == 403
    for path in ("/v2.1/servers", "/v2.0/networks"):  # the control: a member is served
        assert (await send(compute, member, "GET", path, b""))[0] == 200
    status, reply = await send(
        compute, member, "GET", fill("/v2.1/servers/{server}", compute.ids), b""
    )
    assert status == 200 and json.loads(reply)["server"]["id"] == compute.ids["server"]

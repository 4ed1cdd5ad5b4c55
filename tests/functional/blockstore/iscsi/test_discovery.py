"""SendTargets in discovery and normal sessions, long answers in pieces."""

from __future__ import annotations

import pytest

from blockstore.iscsi import Credentials, TargetServer
from blockstore.iscsi import pdu as P
from blockstore.iscsi.textkeys import encode_text, parse_text
from tests.functional.blockstore.iscsi.conftest import IQN
from tests.functional.blockstore.iscsi.initiator import INITIATOR, Initiator, LoginError, session

HOST = "127.0.0.1"


async def test_send_targets_all_lists_what_the_initiator_may_see(server: TargetServer, target):
    hidden = server.add_target("iqn.2024-01.org.stratus.test:hidden")
    hidden.set_acl("iqn.2024-01.org.stratus.test:someone-else")
    mine = server.add_target("iqn.2024-01.org.stratus.test:mine")
    mine.set_acl(INITIATOR, chap_user="u", chap_secret="secret-123456")
    async with session(HOST, server.port, None, chap=("u", "secret-123456")) as ini:
        got = await ini.text([("SendTargets", "All")])
        assert got["TargetName"] == [IQN, mine.iqn]
        assert got["TargetAddress"] == [f"127.0.0.1:{server.port},1"] * 2
        one = await ini.text([("SendTargets", mine.iqn)])
        assert one["TargetName"] == [mine.iqn]
        assert await ini.text([("SendTargets", hidden.iqn)]) == {}
        odd = await ini.text([("Frobnicate", "1"), ("InitialR2T", "No")])
        assert odd == {"Frobnicate": ["NotUnderstood"], "InitialR2T": ["Reject"]}


async def test_a_long_answer_comes_in_pieces(server: TargetServer, target) -> None:
    for i in range(60):
        server.add_target(
            f"iqn.2024-01.org.stratus.test:volume-number-{i:04d}"
        ).allow_any_initiator = True
    ops = {"MaxRecvDataSegmentLength": "512"}
    async with session(HOST, server.port, None, operational=ops) as ini:
        got = await ini.text([("SendTargets", "All")])
        assert len(got["TargetName"]) == 61 and len(got["TargetAddress"]) == 61


async def test_request_text_split_with_the_c_bit(server, target) -> None:
    async with session(HOST, server.port, None) as ini:
        text = encode_text([("SendTargets", "All")])
        first = await ini.request(P.Op.TEXT, flags=P.F_CONTINUE, data=text[:5], immediate=False)
        assert first.opcode == P.Op.TEXT_RESPONSE and first.dlen == 0
        assert not first.flags & P.F_FINAL and first.f20 != P.RESERVED_TAG
        last = await ini.request(
            P.Op.TEXT, data=text[5:], immediate=False, f20=first.f20, itt=first.itt
        )
        assert ("TargetName", IQN) in parse_text(last.data)


async def test_normal_session_sees_only_its_own_target(server, target) -> None:
    server.add_target("iqn.2024-01.org.stratus.test:other").allow_any_initiator = True
    async with session(HOST, server.port, IQN) as ini:
        assert (await ini.text([("SendTargets", "")]))["TargetName"] == [IQN]
        assert await ini.text([("SendTargets", "All")]) == {"SendTargets": ["Reject"]}


async def test_wildcard_portal_is_named_by_the_connection_address() -> None:
    server = TargetServer("0.0.0.0", 0)
    await server.add_portal("::", 0)
    await server.start()
    try:
        port4, port6 = (p for _, p in server.portals)
        assert server.portal_addresses(("127.0.0.1", port4)) == [
            f"127.0.0.1:{port4},1",
            f"127.0.0.1:{port6},1",
        ]
        assert server.portal_addresses(("::1", port6, 0, 0))[1] == f"[::1]:{port6},1"
    finally:
        await server.stop()


async def test_discovery_can_require_chap(unit) -> None:
    server = TargetServer(
        HOST,
        0,
        nop_interval=0,
        discovery_credentials=Credentials("d", "disc-secret"),
        discovery_auth="chap",
    )
    await server.start()
    try:
        server.add_target(IQN).allow_any_initiator = True
        ini = Initiator(HOST, server.port)
        with pytest.raises(LoginError) as exc:
            await ini.login(None)
        assert exc.value.status == 0x0201
        ini.close()
        async with session(HOST, server.port, None, chap=("d", "disc-secret")) as ini:
            assert (await ini.text([("SendTargets", "All")]))["TargetName"] == [IQN]
    finally:
        await server.stop()


# -- attack: discovery lists by the initiator name the client claims ------------------

VICTIM = "iqn.2024-01.org.stratus.test:victim-host"
SECRET = ("att-victim", "victim-secret-0123")


async def test_unauthenticated_discovery_hides_chap_protected_targets(server, target) -> None:
    """Claiming the victim's initiator name is not enough to learn its targets."""
    protected = server.add_target("iqn.2024-01.org.stratus.test:volume-victim")
    protected.set_acl(VICTIM, chap_user=SECRET[0], chap_secret=SECRET[1])
    async with session(HOST, server.port, None, name=VICTIM) as ini:
        got = await ini.text([("SendTargets", "All")])
        assert got["TargetName"] == [IQN]  # the open target only
        assert await ini.text([("SendTargets", protected.iqn)]) == {}
    async with session(HOST, server.port, None, name=VICTIM, chap=SECRET) as ini:
        got = await ini.text([("SendTargets", "All")])
        assert got["TargetName"] == [IQN, protected.iqn]
    ini = Initiator(HOST, server.port, name=VICTIM)
    with pytest.raises(LoginError) as exc:
        await ini.login(None, chap=(SECRET[0], "wrong-secret-0123"))
    assert exc.value.status == 0x0201
    ini.close()


async def test_one_attachments_secret_lists_only_its_own_targets(server, target) -> None:
    first = server.add_target("iqn.2024-01.org.stratus.test:volume-a")
    first.set_acl(VICTIM, chap_user="att-a", chap_secret="secret-of-a-0123")
    second = server.add_target("iqn.2024-01.org.stratus.test:volume-b")
    second.set_acl(VICTIM, chap_user="att-b", chap_secret="secret-of-b-0123")
    async with session(
        HOST, server.port, None, name=VICTIM, chap=("att-b", "secret-of-b-0123")
    ) as ini:
        got = await ini.text([("SendTargets", "All")])
        assert got["TargetName"] == [IQN, second.iqn]


async def test_discovery_auth_none_keeps_the_old_listing(unit) -> None:
    server = TargetServer(HOST, 0, nop_interval=0, discovery_auth="none")
    await server.start()
    try:
        server.add_target(IQN).set_acl(VICTIM, chap_user=SECRET[0], chap_secret=SECRET[1])
        async with session(HOST, server.port, None, name=VICTIM) as ini:
            assert (await ini.text([("SendTargets", "All")]))["TargetName"] == [IQN]
    finally:
        await server.stop()
    with pytest.raises(ValueError, match="discovery_auth"):
        TargetServer(HOST, 0, discovery_auth="maybe")


async def test_discovery_chap_without_any_credentials_refuses_every_session(unit) -> None:
    """``chap`` with no discovery credentials and no CHAP target: nobody can prove anything,
    so every discovery login is refused (never silently listed)."""
    server = TargetServer(HOST, 0, nop_interval=0, discovery_auth="chap")
    await server.start()
    try:
        server.add_target(IQN).allow_any_initiator = True
        ini = Initiator(HOST, server.port, name=VICTIM)
        with pytest.raises(LoginError) as exc:
            await ini.login(None)
        assert exc.value.status == 0x0201
        ini.close()
    finally:
        await server.stop()

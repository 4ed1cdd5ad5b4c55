"""Portal groups managed on a running target: add, bind, remove, without a restart."""

from __future__ import annotations

import asyncio

import pytest

from blockstore.iscsi import TargetServer
from tests.functional.blockstore.iscsi.conftest import IQN
from tests.functional.blockstore.iscsi.initiator import Initiator, LoginError, session
from tests.helpers.tools import need_tool

HOST, OTHER = "127.0.0.1", "127.0.0.2"
NOT_FOUND = 0x0203


async def test_a_portal_added_live_serves_its_own_group(server: TargetServer, target) -> None:
    portal = await server.add_portal(OTHER, 0, tag=2)
    assert portal.port and server.portal_groups == {
        1: [(HOST, server.port)],
        2: [(OTHER, portal.port)],
    }
    async with session(HOST, server.port, None) as ini:
        got = await ini.text([("SendTargets", "All")])
    assert got["TargetName"] == [IQN]
    assert got["TargetAddress"] == [f"{HOST}:{server.port},1", f"{OTHER}:{portal.port},2"]
    async with session(OTHER, portal.port, IQN) as ini:
        assert ini.keys["TargetPortalGroupTag"] == "2"
        assert (await ini.test_unit_ready()).status == 0
    async with session(HOST, server.port, IQN) as ini:
        assert ini.keys["TargetPortalGroupTag"] == "1"


async def test_binding_a_target_to_a_group_moves_it_there(server: TargetServer, target) -> None:
    portal = await server.add_portal(OTHER, 0, tag=2)
    old = Initiator(HOST, server.port)
    await old.login(IQN)
    server.bind_target(IQN, {2})
    await old.wait_closed()  # its group no longer reaches the target
    old.close()
    with pytest.raises(LoginError) as refused:
        async with session(HOST, server.port, IQN):
            pass
    assert refused.value.status == NOT_FOUND
    async with session(HOST, server.port, None) as ini:
        got = await ini.text([("SendTargets", "All")])
    assert got["TargetAddress"] == [f"{OTHER}:{portal.port},2"]
    async with session(OTHER, portal.port, IQN) as ini:
        assert (await ini.test_unit_ready()).status == 0
    server.bind_target(IQN, None)
    async with session(HOST, server.port, IQN) as ini:
        assert (await ini.test_unit_ready()).status == 0


async def test_removing_a_portal_ends_its_sessions_only(server: TargetServer, target) -> None:
    portal = await server.add_portal(OTHER, 0, tag=1)
    leaving = Initiator(OTHER, portal.port)
    await leaving.login(IQN)
    staying = Initiator(HOST, server.port)
    await staying.login(IQN)
    try:
        assert await server.remove_portal(OTHER, portal.port)
        await leaving.wait_closed()
        assert (await staying.test_unit_ready()).status == 0
        with pytest.raises(OSError):
            await asyncio.open_connection(OTHER, portal.port)
        assert server.portal_groups == {1: [(HOST, server.port)]}
        assert not await server.remove_portal(OTHER, portal.port)
    finally:
        leaving.close()
        staying.close()


async def test_portal_and_group_input_is_checked(server: TargetServer, target) -> None:
    for tag in (0, 65536, True):
        with pytest.raises(ValueError, match="portal group tag"):
            await server.add_portal(OTHER, 0, tag=tag)
    with pytest.raises(ValueError, match="exists"):
        await server.add_portal(HOST, server.port)
    with pytest.raises(ValueError, match="port"):
        await server.add_portal(OTHER, 70000)
    with pytest.raises(ValueError, match="DNS name"):
        await server.add_portal("10.0.0.1,2", 0)
    with pytest.raises(ValueError, match="at least one"):
        server.bind_target(IQN, set())
    with pytest.raises(KeyError):
        server.bind_target("iqn.2024-01.org.stratus.test:nope", {1})
    with pytest.raises(ValueError, match="portal group tag"):
        TargetServer(HOST, 0, portal_group_tag=0)
    assert server.portal_groups == {1: [(HOST, server.port)]}


async def test_libiscsi_discovers_and_logs_in_through_a_live_portal(
    server: TargetServer, target
) -> None:
    need_tool("iscsi-ls", "libiscsi-bin")
    portal = await server.add_portal(OTHER, 0, tag=7)
    server.bind_target(IQN, {7})
    proc = await asyncio.create_subprocess_exec(
        "iscsi-ls", "-s", f"iscsi://{OTHER}:{portal.port}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    text = out.decode()
    assert proc.returncode == 0, text
    assert f"Target:{IQN} Portal:{OTHER}:{portal.port},7" in text
    assert "Lun:0" in text

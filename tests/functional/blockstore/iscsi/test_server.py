"""The management API: targets and LUNs change live; removal ends sessions cleanly."""

from __future__ import annotations

import asyncio

import pytest

from blockstore.iscsi import TargetServer
from blockstore.iscsi import pdu as P
from tests.functional.blockstore.iscsi.conftest import IQN
from tests.functional.blockstore.iscsi.initiator import Initiator, LoginError, session

HOST = "127.0.0.1"


async def test_ensure_target_is_idempotent(server: TargetServer) -> None:
    a = server.ensure_target(IQN)
    assert server.ensure_target(IQN.upper().replace("IQN.", "iqn.")) is a
    with pytest.raises(ValueError):
        server.add_target(IQN)
    with pytest.raises(ValueError):
        server.add_target("not a name")
    assert server.targets == [a]


async def test_several_sessions_per_target_and_per_initiator(server, target) -> None:
    async with (
        session(HOST, server.port, IQN) as a,
        session(HOST, server.port, IQN) as b,  # same initiator name, another ISID
        session(HOST, server.port, IQN, name="iqn.2024-01.org.stratus.test:other") as c,
    ):
        assert len({a.tsih, b.tsih, c.tsih}) == 3
        assert len(server.sessions) == 3
        await a.write16(0, b"\x01" * 512)
        assert (await c.read16(0, 1)).data == b"\x01" * 512
        described = [s.describe() for s in server.sessions]
        assert {d["initiator"] for d in described} == {a.name, c.name}


async def test_remove_target_asks_for_logout_then_drops(server, target) -> None:
    server.logout_grace = 0.3
    async with session(HOST, server.port, IQN) as ini:
        removal = asyncio.ensure_future(server.remove_target(IQN))
        event = await ini.next_unsolicited()
        assert event.opcode == P.Op.ASYNC and event.f36 >> 24 == P.AsyncEvent.REQUEST_LOGOUT
        await ini.wait_closed()  # the initiator ignored it: dropped after the grace time
        assert await asyncio.wait_for(removal, 5)
    assert server.get_target(IQN) is None and server.sessions == []
    ini = Initiator(HOST, server.port)
    with pytest.raises(LoginError) as exc:
        await ini.login(IQN)
    assert exc.value.status == 0x0203
    ini.close()


async def test_remove_target_with_a_cooperative_initiator(server, target) -> None:
    async with session(HOST, server.port, IQN) as ini:
        removal = asyncio.ensure_future(server.remove_target(IQN))
        await ini.next_unsolicited()
        assert (await ini.logout()).b2 == 0
        assert await asyncio.wait_for(removal, 5)
    assert not await server.remove_target(IQN)


async def test_stop_drops_every_connection(unit) -> None:
    server = TargetServer(HOST, 0, nop_interval=0)
    await server.start()
    server.add_target(IQN).allow_any_initiator = True
    async with session(HOST, server.port, IQN) as ini:
        await server.stop()
        await ini.wait_closed()


async def test_connection_limit(unit) -> None:
    async with TargetServer(HOST, 0, max_connections=1, nop_interval=0) as server:
        server.add_target(IQN).allow_any_initiator = True
        async with session(HOST, server.port, IQN):
            extra = Initiator(HOST, server.port)
            await extra.connect()
            assert extra.reader is not None
            assert await extra.reader.read() == b""
            extra.close()


async def test_reinstatement_does_not_undo_the_new_sessions_reservation(server, target) -> None:
    reserve6 = bytes((0x16, 0, 0, 0, 0, 0))
    old = Initiator(HOST, server.port)
    await old.login(IQN)
    assert (await old.command(reserve6)).status in (0, 2)
    async with (
        session(HOST, server.port, IQN, isid=old.isid) as new,
        session(HOST, server.port, IQN, name="iqn.2024-01.org.stratus.test:other") as other,
    ):
        for ini in (new, other):  # past any unit attention
            while (await ini.test_unit_ready()).status != 0:
                pass
        assert (await new.command(reserve6)).status == 0
        await old.wait_closed()
        for _ in range(100):  # the old connection's cleanup has run
            if len(server.sessions) == 2:
                break
            await asyncio.sleep(0.02)
        assert len(server.sessions) == 2
        assert (await other.command(reserve6)).status == 0x18  # RESERVATION CONFLICT
        assert (await new.command(bytes((0x17, 0, 0, 0, 0, 0)))).status == 0  # RELEASE(6)
        assert (await other.command(reserve6)).status == 0
    old.close()

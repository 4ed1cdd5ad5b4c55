"""Login against a real target: authentication, ACLs, negotiation, status codes."""

from __future__ import annotations

import pytest

from blockstore.iscsi import Target, TargetServer
from blockstore.iscsi import pdu as P
from blockstore.iscsi.textkeys import encode_text
from tests.functional.blockstore.iscsi.conftest import IQN
from tests.functional.blockstore.iscsi.initiator import INITIATOR, Initiator, LoginError, session

HOST = "127.0.0.1"
SECRET = "initiator-secret"


async def login_status(server: TargetServer, target: str | None = IQN, **kw) -> int:
    name = kw.pop("name", INITIATOR)
    ini = Initiator(HOST, server.port, name=name)
    try:
        await ini.login(target, **kw)
    except LoginError as exc:
        assert ini.reader is not None
        assert await ini.reader.read() == b"", "the target must close after a failed login"
        return exc.status
    finally:
        ini.close()
    return 0


async def test_login_without_authentication_reaches_full_feature(server, target) -> None:
    async with session(HOST, server.port, IQN) as ini:
        assert ini.keys["TargetPortalGroupTag"] == "1"
        assert ini.keys["TargetAlias"] == "test volume"
        assert ini.keys["MaxRecvDataSegmentLength"] == "262144"
        assert ini.keys["ErrorRecoveryLevel"] == "0"
        assert ini.keys["MaxConnections"] == "1"
        assert ini.tsih != 0
        reply = await ini.test_unit_ready()
        assert reply.status == 0


async def test_operational_only_login_declares_receive_length(server, target) -> None:
    # libiscsi without CHAP sends one operational request that goes straight to full
    # feature; our MaxRecvDataSegmentLength must ride on that last response, or the
    # 8 KiB default stands and every large write is chopped into 8 KiB PDUs.
    async with session(HOST, server.port, IQN, skip_security=True) as ini:
        assert ini.keys["MaxRecvDataSegmentLength"] == "262144"
        data = bytes(range(256)) * 256  # 64 KiB: one immediate-data PDU
        assert (await ini.write16(0, data)).status == 0
        assert (await ini.read16(0, len(data) // 512)).data == data


async def test_chap_one_way(server, target: Target) -> None:
    target.set_acl(INITIATOR, chap_user="alice", chap_secret=SECRET)
    async with session(HOST, server.port, IQN, chap=("alice", SECRET)) as ini:
        assert (await ini.test_unit_ready()).status == 0


async def test_chap_mutual(server, target: Target) -> None:
    target.set_acl(INITIATOR, "alice", SECRET, mutual_user="tgt", mutual_secret="target-secret")
    login = dict(chap=("alice", SECRET), mutual=("tgt", "target-secret"))
    async with session(HOST, server.port, IQN, **login) as ini:
        assert (await ini.test_unit_ready()).status == 0


async def test_wrong_secret_is_an_authentication_failure(server, target: Target) -> None:
    target.set_acl(INITIATOR, chap_user="alice", chap_secret=SECRET)
    assert await login_status(server, chap=("alice", "not-the-secret")) == 0x0201
    assert await login_status(server, chap=("mallory", SECRET)) == 0x0201


async def test_chap_required_but_not_offered(server, target: Target) -> None:
    target.set_acl(INITIATOR, chap_user="alice", chap_secret=SECRET)
    assert await login_status(server) == 0x0201  # offers AuthMethod=None only
    assert await login_status(server, skip_security=True) == 0x0201  # jumps to operational


async def test_mutual_requested_but_not_configured(server, target: Target) -> None:
    target.set_acl(INITIATOR, chap_user="alice", chap_secret=SECRET)
    assert await login_status(server, chap=("alice", SECRET), mutual=("t", "x")) == 0x0201


async def test_acl_refuses_unknown_initiators(server, target: Target) -> None:
    target.allow_any_initiator = False
    target.set_acl("iqn.2024-01.org.stratus.test:someone-else")
    assert await login_status(server) == 0x0202
    target.set_acl(INITIATOR)  # changes apply to the next login, no restart
    assert await login_status(server) == 0
    target.remove_acl(INITIATOR)
    assert await login_status(server) == 0x0202


async def test_default_chap_for_any_initiator(server, target: Target) -> None:
    target.set_default_chap("demo", SECRET)
    assert await login_status(server) == 0x0201
    assert await login_status(server, chap=("demo", SECRET)) == 0


async def test_unknown_target_and_missing_names(server, target) -> None:
    assert await login_status(server, "iqn.2024-01.org.stratus.test:nope") == 0x0203
    ini = Initiator(HOST, server.port)
    await ini.connect()
    with pytest.raises(LoginError) as exc:
        await ini.login_exchange([("SessionType", "Normal")], csg=0, nsg=1)
    assert exc.value.status == 0x0207  # InitiatorName missing
    ini.close()
    ini = Initiator(HOST, server.port)
    await ini.connect()
    with pytest.raises(LoginError) as exc:
        await ini.login_exchange([("InitiatorName", INITIATOR)], csg=0, nsg=1)
    assert exc.value.status == 0x0207  # a normal session needs TargetName
    ini.close()


async def test_bad_initiator_name_and_session_type(server, target) -> None:
    assert await login_status(server, name="not-an-iqn") == 0x0200
    ini = Initiator(HOST, server.port)
    await ini.connect()
    with pytest.raises(LoginError) as exc:
        keys = [("InitiatorName", INITIATOR), ("SessionType", "Weird")]
        await ini.login_exchange(keys, csg=0, nsg=1)
    assert exc.value.status == 0x0209
    ini.close()


async def test_unsupported_version_and_bad_transition(server, target) -> None:
    ini = Initiator(HOST, server.port)
    await ini.connect()
    data = encode_text([("InitiatorName", INITIATOR), ("TargetName", IQN)])
    header = P.pack(P.Op.LOGIN | P.IMMEDIATE, P.F_TRANSIT | 1, 1, 1, len(data), ini.isid + bytes(2))
    await ini.send(header, data)
    reply = await ini.read_pdu()
    assert reply.f36 >> 16 == 0x0205
    ini.close()
    ini = Initiator(HOST, server.port)
    await ini.connect()
    with pytest.raises(LoginError) as exc:  # operational -> security is backwards
        await ini.login_exchange([("InitiatorName", INITIATOR), ("TargetName", IQN)], csg=1, nsg=0)
    assert exc.value.status == 0x0200
    ini.close()


async def test_non_login_pdu_during_login(server, target) -> None:
    ini = Initiator(HOST, server.port)
    await ini.connect()
    await ini.send(P.pack(P.Op.NOP_OUT | P.IMMEDIATE, f16=1))
    reply = await ini.read_pdu()
    assert reply.opcode == P.Op.LOGIN_RESPONSE and reply.f36 >> 16 == 0x020B
    ini.close()


async def test_negotiation_answers(server, target) -> None:
    ops = {"X-com.example.Thing": "1", "MaxBurstLength": "4096", "FirstBurstLength": "2048",
           "DefaultTime2Wait": "99999", "IFMarker": "No", "OFMarkInt": "2048~8192",
           "InitialR2T": "Yes", "MaxOutstandingR2T": "4"}  # fmt: skip
    async with session(HOST, server.port, IQN, operational=ops) as ini:
        keys = ini.keys
        assert keys["X-com.example.Thing"] == "NotUnderstood"
        assert keys["MaxBurstLength"] == "4096" and keys["FirstBurstLength"] == "2048"
        assert keys["DefaultTime2Wait"] == "Reject"
        assert keys["IFMarker"] == "No" and keys["OFMarkInt"] == "Irrelevant"
        assert keys["InitialR2T"] == "Yes" and keys["MaxOutstandingR2T"] == "4"
        assert (await ini.test_unit_ready()).status == 0


async def test_digests_are_negotiated_and_used(server, target) -> None:
    async with session(HOST, server.port, IQN, header_digest=True, data_digest=True) as ini:
        assert ini.header_digest and ini.data_digest
        data = bytes(range(256)) * 64
        assert (await ini.write16(0, data)).status == 0
        reply = await ini.read16(0, len(data) // 512)
        assert reply.status == 0 and reply.data == data


async def test_login_text_split_over_pdus_with_the_c_bit(server, target) -> None:
    ini = Initiator(HOST, server.port)
    await ini.connect()
    text = encode_text([("InitiatorName", INITIATOR), ("TargetName", IQN), ("AuthMethod", "None")])
    for piece, last in ((text[:10], False), (text[10:], True)):
        flags = (P.F_TRANSIT | 1) if last else P.F_CONTINUE
        header = P.pack(P.Op.LOGIN | P.IMMEDIATE, flags, 0, 0, len(piece), ini.isid + bytes(2))
        await ini.send(header, piece)
        reply = await ini.read_pdu()
        assert reply.f36 >> 16 == 0
    assert reply.flags & P.F_TRANSIT and b"AuthMethod=None" in reply.data
    ini.close()


async def test_adding_a_connection_to_a_session_is_refused(server, target) -> None:
    async with session(HOST, server.port, IQN) as first:
        second = Initiator(HOST, server.port, isid=first.isid)
        second.tsih = first.tsih
        with pytest.raises(LoginError) as exc:
            await second.login(IQN)
        assert exc.value.status == 0x0206
        second.close()
        third = Initiator(HOST, server.port)
        third.tsih = 0x7777
        with pytest.raises(LoginError) as exc:
            await third.login(IQN)
        assert exc.value.status == 0x020A
        third.close()


async def test_same_isid_reinstates_the_old_session(server, target) -> None:
    old = Initiator(HOST, server.port)
    await old.login(IQN)
    async with session(HOST, server.port, IQN, isid=old.isid) as new:
        await old.wait_closed()  # the target dropped the old connection
        assert (await new.test_unit_ready()).status == 0
        assert [s.tsih for s in server.sessions] == [new.tsih]
    old.close()


async def test_login_times_out(unit) -> None:
    server = TargetServer("127.0.0.1", 0, login_timeout=0.2, nop_interval=0)
    await server.start()
    try:
        ini = Initiator(HOST, server.port)
        await ini.connect()
        assert ini.reader is not None
        assert await ini.reader.read() == b""  # closed by the target, nothing sent
        ini.close()
    finally:
        await server.stop()

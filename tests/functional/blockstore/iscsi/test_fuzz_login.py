"""Fuzz: login requests with fuzzed text keys and stage flags against a real CHAP target.

Each example opens a connection and walks a login as far as its fuzzed
requests allow: the first names (or misnames) initiator and target and
offers operational keys with odd values, the next answer the target's CHAP
challenge (sometimes correctly, then with a fuzzed mutual challenge). Every
request must get a Login Response (any status) or a closed connection, and
the target must log no unexpected exception; a clean login still works.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blockstore.iscsi import TargetServer
from blockstore.iscsi import pdu as P
from blockstore.iscsi.chap import encode_binary
from blockstore.iscsi.target import Target, make_credentials
from blockstore.iscsi.textkeys import encode_text, parse_text
from tests.functional.blockstore.iscsi.conftest import IQN
from tests.functional.blockstore.iscsi.initiator import Initiator, chap_response
from tests.helpers.fuzz import budget

USER, SECRET, MUTUAL_USER, MUTUAL_SECRET = "fuzz", "fuzz-secret-123", "tgt", "tgt-secret-456"
NAMES = ["iqn.2024-01.org.stratus.test:fuzzer", "iqn.", "eui.0123456789ABCDEF", "naa.1", "x", ""]
NUMBERS = ["0", "1", "512", "262144", "16777216", "0x200", "0x", "²", "١٢", "9" * 300, "-1"]
KEYS = ["MaxRecvDataSegmentLength", "MaxBurstLength", "FirstBurstLength", "HeaderDigest",
        "DataDigest", "ErrorRecoveryLevel", "InitialR2T", "ImmediateData", "MaxConnections",
        "DefaultTime2Wait", "TaskReporting", "TargetAddress", "X-com.example.Vendor",
        "CHAP_A", "CHAP_I", "CHAP_C", "CHAP_N", "CHAP_R", "AuthMethod"]  # fmt: skip
# Security keys out of turn end a login early: offered now and then, so most logins go on.
MOSTLY_OPERATIONAL = st.integers(0, 4).flatmap(
    lambda i: st.sampled_from(KEYS) if i == 0 else st.sampled_from(KEYS[:13])
)
VALUES = st.sampled_from([*NUMBERS, "Yes", "No", "CRC32C", "None", "CHAP", "CHAP,None", "5",
                          "0x" + "ab" * 16, "0bq83v", ""]) | st.text(max_size=12)  # fmt: skip


class ErrorLog(logging.Handler):
    """ERROR records of the target (unexpected exceptions are logged so)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def errors() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    logging.getLogger("blockstore").addHandler(handler)
    yield handler
    logging.getLogger("blockstore").removeHandler(handler)


@pytest.fixture
async def chap_target(server: TargetServer, unit) -> Target:  # type: ignore[no-untyped-def]
    tgt = server.add_target(IQN)
    tgt.add_lun(0, unit)
    tgt.allow_any_initiator = True
    tgt.default_credentials = make_credentials(USER, SECRET, MUTUAL_USER, MUTUAL_SECRET)
    return tgt


GOOD = {"InitiatorName": NAMES[0], "TargetName": IQN, "SessionType": "Normal", "AuthMethod": "CHAP"}
ODD = {"InitiatorName": NAMES[1:], "TargetName": ["iqn.2024-01.x:none", ""],
       "SessionType": ["Discovery", "Bogus"], "AuthMethod": ["CHAP,None", "None", ""]}  # fmt: skip


@st.composite
def first_request(draw: st.DrawFn) -> list[tuple[str, str]]:
    """A good first request with at most one declaration broken or left out, and more keys."""
    keys = dict(GOOD)
    broken = draw(st.sampled_from([None, None, *GOOD]))
    if broken is not None:
        if draw(st.booleans()):
            del keys[broken]
        else:
            keys[broken] = draw(st.sampled_from(ODD[broken]) | st.text(max_size=20))
    return [*keys.items(), *draw(st.lists(st.tuples(MOSTLY_OPERATIONAL, VALUES), max_size=6))]


async def exchange(
    ini: Initiator, keys: list[tuple[str, str]], flags: int
) -> dict[str, str] | None:
    """One Login Request; the answered keys, or None once the target has refused or closed."""
    data = encode_text(keys)
    header = P.pack(P.Op.LOGIN | P.IMMEDIATE, flags, 0, 0, len(data), ini.isid + bytes(2),
                    ini.itt, 0, ini.cmd_sn, ini.exp_stat_sn)  # fmt: skip
    try:
        await ini.send(header, data)
        reply = await asyncio.wait_for(ini.read_pdu(), 10)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    assert reply.opcode == P.Op.LOGIN_RESPONSE, reply
    ini.exp_stat_sn = (reply.f24 + 1) & 0xFFFFFFFF
    return None if reply.f36 >> 16 else dict(parse_text(reply.data))


@budget(150)
@given(
    first=first_request(),
    flags=st.sampled_from([P.F_TRANSIT | 1] * 4 + [0, P.F_TRANSIT | 3, 0x40, 0xFF]),
    answer_right=st.sampled_from([True] * 5 + [False]),
    mutual=st.tuples(
        st.sampled_from(["1", "²", "9" * 300, "256", ""]),
        st.sampled_from(["0x" + "cd" * 16, "0x", "0b", "0xzz"]),
    ),
    extra=st.lists(st.tuples(MOSTLY_OPERATIONAL, VALUES), max_size=3),
)
async def test_fuzz_login(
    server: TargetServer,
    chap_target: Target,
    errors: ErrorLog,
    first: list[tuple[str, str]],
    flags: int,
    answer_right: bool,
    mutual: tuple[str, str],
    extra: list[tuple[str, str]],
) -> None:
    ini = Initiator("127.0.0.1", server.port)
    await ini.connect()
    try:
        answer = await exchange(ini, first, flags)
        if answer is not None and answer.get("AuthMethod") == "CHAP":
            answer = await exchange(ini, [("CHAP_A", "5"), *extra], P.F_TRANSIT | 1)
        if answer is not None and "CHAP_C" in answer:
            ident, challenge = int(answer["CHAP_I"]), bytes.fromhex(answer["CHAP_C"][2:])
            proof = chap_response(ident, SECRET if answer_right else "wrong", challenge)
            keys = [("CHAP_N", USER), ("CHAP_R", encode_binary(proof)),
                    ("CHAP_I", mutual[0]), ("CHAP_C", mutual[1])]  # fmt: skip
            await exchange(ini, keys, P.F_TRANSIT | 1)
    finally:
        ini.close()
        with contextlib.suppress(Exception):
            await asyncio.sleep(0)
    assert not errors.records, errors.records[0].getMessage()


async def test_a_clean_chap_login_after_fuzzing(server: TargetServer, chap_target: Target) -> None:
    """The fixture's target accepts a correct mutual-CHAP login (so the fuzz reached CHAP)."""
    ini = Initiator("127.0.0.1", server.port)
    await ini.connect()
    try:
        first = [("InitiatorName", NAMES[0]), ("TargetName", IQN), ("SessionType", "Normal"),
                 ("AuthMethod", "CHAP")]  # fmt: skip
        answer = await exchange(ini, first, P.F_TRANSIT | 1)
        assert answer is not None and answer["AuthMethod"] == "CHAP"
        answer = await exchange(ini, [("CHAP_A", "5")], P.F_TRANSIT | 1)
        assert answer is not None
        proof = chap_response(int(answer["CHAP_I"]), SECRET, bytes.fromhex(answer["CHAP_C"][2:]))
        keys = [("CHAP_N", USER), ("CHAP_R", encode_binary(proof)), ("CHAP_I", "7"),
                ("CHAP_C", "0x" + "cd" * 16)]  # fmt: skip
        answer = await exchange(ini, keys, P.F_TRANSIT | 1)
        assert answer is not None and answer["CHAP_N"] == MUTUAL_USER
    finally:
        ini.close()

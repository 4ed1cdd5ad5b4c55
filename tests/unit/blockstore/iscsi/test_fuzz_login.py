"""Fuzz: BHS parsing, AHS walking, login text, operational negotiation and CHAP keys.

What an initiator controls before it is authenticated must never raise
anything but the protocol's own errors: a BHS parses, AHS walks stay inside
the bytes given, text is TextError or pairs, every offered key gets an
answer (a value, Reject, NotUnderstood, Irrelevant) and CHAP answers are
ChapError (the login then fails with status 0x0201). Negotiated numbers
always stay inside RFC 7143's ranges, whatever was offered.
"""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from blockstore.iscsi import pdu as P
from blockstore.iscsi.chap import MAX_BINARY, ChapError, ChapExchange, Credentials, decode_binary
from blockstore.iscsi.negotiate import MAX_SEGMENT, MIN_SEGMENT, Negotiator, TargetLimits
from blockstore.iscsi.textkeys import MAX_KEY_LEN, TextError, encode_text, parse_text
from tests.helpers.fuzz import budget

NUMBERS = ["0", "1", "512", "16777215", "16777216", "0x200", "0xffffff", "0x", "0x-1", "0x 1",
           "-1", "²", "١٢", "𝟗", "9" * 4301, "1_0", ""]  # fmt: skip
KEYS = ["HeaderDigest", "DataDigest", "MaxRecvDataSegmentLength", "MaxBurstLength",
        "FirstBurstLength", "MaxOutstandingR2T", "DefaultTime2Wait", "DefaultTime2Retain",
        "MaxConnections", "ErrorRecoveryLevel", "iSCSIProtocolLevel", "InitialR2T",
        "ImmediateData", "DataPDUInOrder", "DataSequenceInOrder", "InitiatorAlias", "IFMarker",
        "OFMarkInt", "TaskReporting", "TargetAddress", "X-Vendor", "SendTargets",
        "ImmediateData\n"]  # fmt: skip
VALUES = st.sampled_from([*NUMBERS, "Yes", "No", "CRC32C", "None", "CRC32C,None", "RFC3720"])


@budget(200)
@given(raw=st.binary(min_size=48, max_size=48), ahs=st.binary(max_size=1020))
def test_fuzz_bhs_and_ahs(raw: bytes, ahs: bytes) -> None:
    pdu = P.Pdu(raw)
    assert 0 <= pdu.dlen <= P.MAX_DATA_SEGMENT and 0 <= pdu.ahs_len <= 1020
    pdu.ahs = ahs
    cdb = P.extended_cdb(pdu)
    assert cdb[:16] == raw[32:48] and len(cdb) <= 16 + len(ahs)
    n = P.bidi_read_length(pdu)
    assert n is None or 0 <= n < 2**32
    P.decode_lun(pdu.lun)
    repr(pdu)


@st.composite
def ahs_segments(draw: st.DrawFn) -> bytes:
    """AHS made of typed segments whose length fields may lie."""
    out = b""
    for _ in range(draw(st.integers(0, 4))):
        body = draw(st.binary(max_size=40))
        length = draw(st.sampled_from([len(body) + 1, 0, 1, 5, 0xFFFF]))
        out += struct.pack(">HBB", length, draw(st.sampled_from([1, 2, 0, 0x3F])), 0) + body
        out += bytes(P.pad_len(len(out)))
    return out


@budget(150)
@given(ahs=ahs_segments())
def test_fuzz_typed_ahs(ahs: bytes) -> None:
    pdu = P.Pdu(P.pack(P.Op.SCSI_COMMAND, ahs_words=len(ahs) // 4))
    pdu.ahs = ahs
    assert len(P.extended_cdb(pdu)) <= 16 + len(ahs)
    P.bidi_read_length(pdu)


@st.composite
def login_text(draw: st.DrawFn) -> bytes:
    pairs = draw(
        st.lists(st.tuples(st.sampled_from(KEYS) | st.text(max_size=8), VALUES | st.text()))
    )
    raw = b"".join(f"{k}={v}".encode("utf-8", "surrogatepass") + b"\0" for k, v in pairs)
    if draw(st.booleans()):
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(max_size=8)) + raw[at:]
    return raw


@budget(120)
@given(raw=login_text())
def test_fuzz_login_text_and_negotiation(raw: bytes) -> None:
    try:
        pairs = parse_text(raw)
    except TextError:
        return
    negotiator = Negotiator(TargetLimits())
    for key, value in pairs:
        assert 0 < len(key) <= MAX_KEY_LEN and "\n" not in key
        answer = negotiator.answer(key, value)
        assert answer is None or isinstance(answer, str)
    negotiator.finish()
    p = negotiator.params
    assert MIN_SEGMENT <= p.initiator_max_recv <= MAX_SEGMENT or p.initiator_max_recv == 8192
    assert 0 < p.first_burst_length <= p.max_burst_length <= MAX_SEGMENT
    assert 1 <= p.max_outstanding_r2t <= 65535 and 0 <= p.error_recovery_level <= 2
    assert parse_text(encode_text(pairs)) == pairs


CHAP_VALUES = ["0x" + "ab" * 16, "0X0", "0x", "0xzz", "0b" + "q" * 24, "0bAAAA", "0b=", "0b",
               "0x" + "00" * (MAX_BINARY + 1), "", *NUMBERS]  # fmt: skip


@budget(100)
@given(
    keys=st.dictionaries(
        st.sampled_from(["CHAP_N", "CHAP_R", "CHAP_I", "CHAP_C", "CHAP_A"]),
        st.sampled_from([*CHAP_VALUES, "user"]) | st.text(max_size=20),
    ),
    mutual=st.booleans(),
)
def test_fuzz_chap_answers(keys: dict[str, str], mutual: bool) -> None:
    creds = Credentials("user", "secret-12345", *(("tgt", "other-secret") if mutual else ()))
    exchange = ChapExchange(creds)
    try:
        exchange.verify(keys)
    except ChapError:
        pass
    else:
        raise AssertionError("a random CHAP_R was accepted")


@budget(200)
@given(value=st.sampled_from(CHAP_VALUES) | st.text(max_size=40))
def test_fuzz_chap_binary_values(value: str) -> None:
    try:
        raw = decode_binary(value)
    except ChapError:
        return
    assert 0 < len(raw) <= MAX_BINARY


@budget(100)
@given(ident=st.sampled_from(NUMBERS), challenge=st.sampled_from(CHAP_VALUES))
def test_fuzz_mutual_chap_after_a_good_response(ident: str, challenge: str) -> None:
    """The initiator proved itself; its own challenge (CHAP_I, CHAP_C) is fuzzed."""
    from blockstore.iscsi.chap import encode_binary, response

    exchange = ChapExchange(Credentials("user", "secret-12345", "tgt", "other-secret"))
    good = encode_binary(response(exchange.identifier, "secret-12345", exchange.challenge))
    keys = {"CHAP_N": "user", "CHAP_R": good, "CHAP_I": ident, "CHAP_C": challenge}
    try:
        answer = exchange.verify(keys)
    except ChapError:
        return
    assert [k for k, _ in answer] == ["CHAP_N", "CHAP_R"]

"""The BHS codec: one struct for every opcode, LUN fields, AHS."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blockstore.iscsi import pdu as P


def test_pack_then_parse_names_every_field() -> None:
    raw = P.pack(
        P.Op.DATA_IN, P.F_FINAL | P.F_STATUS, 0, 0x02, 1000, P.encode_lun(3),
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, ahs_words=2,
    )  # fmt: skip
    assert len(raw) == P.BHS_LEN
    pdu = P.Pdu(raw)
    assert pdu.opcode == P.Op.DATA_IN and not pdu.immediate
    assert pdu.flags == P.F_FINAL | P.F_STATUS and pdu.b3 == 0x02
    assert (pdu.ahs_len, pdu.dlen) == (8, 1000)
    assert P.decode_lun(pdu.lun) == 3
    words = (pdu.f16, pdu.f20, pdu.f24, pdu.f28, pdu.f32, pdu.f36, pdu.f40, pdu.f44)
    assert words == (0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88)
    assert pdu.itt == 0x11


def test_immediate_bit_is_not_part_of_the_opcode() -> None:
    pdu = P.Pdu(P.pack(P.Op.NOP_OUT | P.IMMEDIATE))
    assert pdu.opcode == P.Op.NOP_OUT and pdu.immediate


def test_a_bhs_is_exactly_48_bytes() -> None:
    with pytest.raises(ValueError):
        P.Pdu(bytes(47))


@given(st.binary(min_size=48, max_size=48))
def test_any_48_bytes_parse_without_error(raw: bytes) -> None:
    pdu = P.Pdu(raw)
    assert 0 <= pdu.dlen <= P.MAX_DATA_SEGMENT
    assert pdu.ahs_len % 4 == 0
    repr(pdu)


@pytest.mark.parametrize("n,pad", [(0, 0), (1, 3), (2, 2), (3, 1), (4, 0), (513, 3)])
def test_padding_to_four_bytes(n: int, pad: int) -> None:
    assert P.pad_len(n) == pad


@pytest.mark.parametrize("lun", [0, 1, 255, 256, 4095, 16383])
def test_lun_round_trip(lun: int) -> None:
    field = P.encode_lun(lun)
    assert len(field) == 8
    assert P.decode_lun(field) == lun


def test_lun_addressing_we_do_not_serve_is_none() -> None:
    assert P.decode_lun(bytes((0x80, 1, 0, 0, 0, 0, 0, 0))) is None  # logical unit addressing
    assert P.decode_lun(bytes((0x01, 1, 0, 0, 0, 0, 0, 0))) is None  # bus number != 0


def test_extended_cdb_ahs_appends_bytes_past_16() -> None:
    cdb = bytes(range(1, 33))  # a 32-byte CDB
    raw = P.pack(P.Op.SCSI_COMMAND, f32=0, ahs_words=5)
    raw = raw[:32] + cdb[:16]
    pdu = P.Pdu(raw)
    extra = cdb[16:]
    ahs = struct.pack(">HBB", len(extra) + 1, 1, 0) + extra  # length counts the reserved byte
    pdu.ahs = ahs + bytes(P.pad_len(len(ahs)))
    assert P.extended_cdb(pdu) == cdb


def test_bidirectional_read_length_ahs() -> None:
    pdu = P.Pdu(P.pack(P.Op.SCSI_COMMAND, ahs_words=2))
    pdu.ahs = struct.pack(">HBBI", 5, 2, 0, 4096)
    assert P.bidi_read_length(pdu) == 4096
    assert P.extended_cdb(pdu) == pdu.raw[32:48]


def test_truncated_ahs_is_ignored() -> None:
    pdu = P.Pdu(P.pack(P.Op.SCSI_COMMAND, ahs_words=1))
    pdu.ahs = b"\xff\xff\x01\x00"
    assert P.extended_cdb(pdu) == pdu.raw[32:48]
    assert P.bidi_read_length(pdu) is None

"""Operational key negotiation by the rules of RFC 7143 section 6.2."""

from __future__ import annotations

import pytest

from blockstore.iscsi.negotiate import Negotiator, TargetLimits, parse_number


@pytest.fixture
def neg() -> Negotiator:
    return Negotiator(TargetLimits())


def test_lists_pick_the_first_value_we_support(neg: Negotiator) -> None:
    assert neg.answer("HeaderDigest", "CRC32C,None") == "CRC32C"
    assert neg.params.header_digest
    assert neg.answer("DataDigest", "None,CRC32C") == "None"
    assert not neg.params.data_digest
    assert neg.answer("DataDigest", "MD5,CRC32C") == "CRC32C"
    assert neg.answer("HeaderDigest", "MD5") == "Reject"


def test_digests_can_be_refused_by_configuration() -> None:
    neg = Negotiator(TargetLimits(header_digests=("None",), data_digests=("CRC32C",)))
    assert neg.answer("HeaderDigest", "CRC32C,None") == "None"
    assert not neg.params.header_digest
    assert neg.answer("DataDigest", "None,CRC32C") == "CRC32C"  # required by this target
    assert neg.answer("DataDigest", "None") == "Reject"


def test_numbers_meet_at_min_or_max(neg: Negotiator) -> None:
    assert neg.answer("MaxBurstLength", "16776192") == str(TargetLimits().max_burst_length)
    assert neg.answer("FirstBurstLength", "4096") == "4096"
    assert neg.answer("DefaultTime2Wait", "0") == "2"  # max
    assert neg.answer("DefaultTime2Wait", "10") == "10"
    assert neg.answer("DefaultTime2Retain", "20") == "0"  # min
    assert neg.answer("MaxConnections", "8") == "1"
    assert neg.answer("ErrorRecoveryLevel", "2") == "0"
    assert neg.answer("MaxOutstandingR2T", "0x10") == "8"
    assert neg.params.max_outstanding_r2t == 8


@pytest.mark.parametrize(
    "key,value",
    [("MaxBurstLength", "511"), ("MaxBurstLength", "16777216"), ("MaxBurstLength", "abc"),
     ("MaxOutstandingR2T", "0"), ("DefaultTime2Wait", "3601"), ("MaxRecvDataSegmentLength", "1"),
     ("InitialR2T", "maybe"), ("ErrorRecoveryLevel", "-1"), ("IFMarker", "yes")],
)  # fmt: skip
def test_out_of_range_or_malformed_values_are_rejected(neg: Negotiator, key: str, value: str):
    assert neg.answer(key, value) == "Reject"


def test_booleans_combine_by_or_and_and(neg: Negotiator) -> None:
    assert neg.answer("InitialR2T", "Yes") == "Yes"  # OR with our No
    assert neg.answer("InitialR2T", "No") == "No"
    assert neg.answer("ImmediateData", "No") == "No"  # AND with our Yes
    assert not neg.params.immediate_data
    assert neg.answer("DataPDUInOrder", "No") == "Yes"  # OR with our Yes


def test_declarations_need_no_answer(neg: Negotiator) -> None:
    assert neg.answer("MaxRecvDataSegmentLength", "65536") is None
    assert neg.params.initiator_max_recv == 65536
    assert neg.params.target_max_recv == TargetLimits().max_recv_data_segment_length
    assert neg.answer("InitiatorAlias", "host1") is None


def test_unknown_irrelevant_and_target_only_keys(neg: Negotiator) -> None:
    assert neg.answer("X-com.example.Foo", "1") == "NotUnderstood"
    assert neg.answer("Bogus", "1") == "NotUnderstood"
    assert neg.answer("OFMarkInt", "1~65535") == "Irrelevant"
    assert neg.answer("IFMarker", "Yes") == "No"
    assert neg.answer("RDMAExtensions", "Yes") == "No"
    assert neg.answer("TargetPortalGroupTag", "1") == "Reject"
    assert neg.answer("TaskReporting", "ResponseFence,RFC3720") == "RFC3720"
    assert neg.answer("iSCSIProtocolLevel", "2") == "1"


def test_first_burst_never_exceeds_max_burst(neg: Negotiator) -> None:
    neg.answer("MaxBurstLength", "8192")
    neg.answer("FirstBurstLength", "65536")
    assert neg.finish() == {"FirstBurstLength": "8192"}
    assert neg.params.first_burst_length == 8192
    assert neg.finish() == {}


def test_numbers_are_decimal_or_hex() -> None:
    assert parse_number("42") == 42
    assert parse_number("0x2A") == 42
    assert parse_number("0xZZ") is None
    assert parse_number("-1") is None
    assert parse_number("") is None

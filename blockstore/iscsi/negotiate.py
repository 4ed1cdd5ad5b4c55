"""Operational parameter negotiation (RFC 7143 sections 6.2 and 13).

The initiator offers, the target answers: lists pick the first value the
target supports, ``min``/``max`` numbers meet, booleans combine by AND or
OR, declarative keys are recorded. Unknown keys answer ``NotUnderstood``,
malformed or out-of-range values ``Reject``, keys that cannot matter
``Irrelevant``. The outcome is one :class:`SessionParams`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from blockstore.iscsi.textkeys import IRRELEVANT, NOT_UNDERSTOOD, REJECT

KiB = 1024
MIN_SEGMENT = 512
MAX_SEGMENT = (1 << 24) - 1


@dataclass
class TargetLimits:
    """What this target offers and accepts; the initiator's offers meet these."""

    max_recv_data_segment_length: int = 256 * KiB  # the largest data segment we accept
    max_burst_length: int = 1024 * KiB
    first_burst_length: int = 256 * KiB
    max_outstanding_r2t: int = 8
    initial_r2t: bool = False  # we welcome unsolicited data
    immediate_data: bool = True
    header_digests: tuple[str, ...] = ("CRC32C", "None")  # what we accept, in no order
    data_digests: tuple[str, ...] = ("CRC32C", "None")
    default_time2wait: int = 2
    default_time2retain: int = 0  # ErrorRecoveryLevel 0: nothing is kept after a drop


@dataclass
class SessionParams:
    """Negotiated values; RFC 7143 defaults until a key says otherwise."""

    header_digest: bool = False
    data_digest: bool = False
    initiator_max_recv: int = 8192  # the initiator's MaxRecvDataSegmentLength: our Data-In size
    target_max_recv: int = 8192  # ours, as declared to the initiator
    max_burst_length: int = 256 * KiB
    first_burst_length: int = 64 * KiB
    initial_r2t: bool = True
    immediate_data: bool = True
    max_outstanding_r2t: int = 1
    data_pdu_in_order: bool = True
    data_sequence_in_order: bool = True
    default_time2wait: int = 2
    default_time2retain: int = 20
    error_recovery_level: int = 0
    max_connections: int = 1
    initiator_alias: str = ""


def parse_number(value: str) -> int | None:
    """A decimal or 0x-hexadecimal number, or None when it is neither."""
    try:
        if value[:2] in ("0x", "0X"):
            return int(value[2:], 16)
        if value.isdigit():
            return int(value)
    except ValueError:
        return None
    return None


def parse_bool(value: str) -> bool | None:
    return {"Yes": True, "No": False}.get(value)


# Keys whose answer never depends on the offer (beyond its being well formed).
FIXED_ANSWERS = {
    "IFMarker": "No",
    "OFMarker": "No",
    "RDMAExtensions": "No",
}
IRRELEVANT_KEYS = {
    "IFMarkInt",
    "OFMarkInt",
    "TargetRecvDataSegmentLength",  # iSER only
    "InitiatorRecvDataSegmentLength",
}
# Keys only a target may declare, or only the login phase may carry.
TARGET_ONLY_KEYS = {"TargetAlias", "TargetAddress", "TargetPortalGroupTag"}


class Negotiator:
    """Answers the operational keys of one session's login (or text) exchange."""

    def __init__(self, limits: TargetLimits, params: SessionParams | None = None) -> None:
        self.limits = limits
        self.params = params or SessionParams()
        self.params.target_max_recv = limits.max_recv_data_segment_length
        self.numeric: dict[str, tuple[int, int, Callable[[int, int], int], str, int]] = {
            # key: (low, high, combine, params attribute, our value)
            "MaxBurstLength": (MIN_SEGMENT, MAX_SEGMENT, min, "max_burst_length",
                               limits.max_burst_length),
            "FirstBurstLength": (MIN_SEGMENT, MAX_SEGMENT, min, "first_burst_length",
                                 limits.first_burst_length),
            "MaxOutstandingR2T": (1, 65535, min, "max_outstanding_r2t",
                                  limits.max_outstanding_r2t),
            "DefaultTime2Wait": (0, 3600, max, "default_time2wait", limits.default_time2wait),
            "DefaultTime2Retain": (0, 3600, min, "default_time2retain",
                                   limits.default_time2retain),
            "MaxConnections": (1, 65535, min, "max_connections", 1),
            "ErrorRecoveryLevel": (0, 2, min, "error_recovery_level", 0),
            "iSCSIProtocolLevel": (0, 31, min, "", 1),
        }  # fmt: skip
        self.boolean: dict[str, tuple[bool, str, bool]] = {
            # key: (OR semantics?, params attribute, our value)
            "InitialR2T": (True, "initial_r2t", limits.initial_r2t),
            "ImmediateData": (False, "immediate_data", limits.immediate_data),
            "DataPDUInOrder": (True, "data_pdu_in_order", True),
            "DataSequenceInOrder": (True, "data_sequence_in_order", True),
        }

    def answer(self, key: str, value: str) -> str | None:
        """The answer to one offered key, or None when a declaration needs none."""
        if key in ("HeaderDigest", "DataDigest"):
            return self._digest(key, value)
        if key in self.numeric:
            return self._number(key, value)
        if key in self.boolean:
            return self._flag(key, value)
        if key == "MaxRecvDataSegmentLength":
            n = parse_number(value)
            if n is None or not MIN_SEGMENT <= n <= MAX_SEGMENT:
                return REJECT
            self.params.initiator_max_recv = n
            return None
        if key == "InitiatorAlias":
            self.params.initiator_alias = value[:255]
            return None
        if key in FIXED_ANSWERS:
            return FIXED_ANSWERS[key] if parse_bool(value) is not None else REJECT
        if key in IRRELEVANT_KEYS:
            return IRRELEVANT
        if key == "TaskReporting":
            return "RFC3720" if "RFC3720" in value.split(",") else REJECT
        if key in TARGET_ONLY_KEYS:
            return REJECT
        return NOT_UNDERSTOOD

    def finish(self) -> dict[str, str]:
        """Rules that tie keys together, applied once a request's offers are in.

        Returns corrected answers: FirstBurstLength never exceeds MaxBurstLength,
        so both sides settle on the smaller value.
        """
        p = self.params
        if p.first_burst_length > p.max_burst_length:
            p.first_burst_length = p.max_burst_length
            return {"FirstBurstLength": str(p.first_burst_length)}
        return {}

    def _digest(self, key: str, value: str) -> str:
        """The first offered digest we accept (RFC order: the offerer's preference)."""
        header = key == "HeaderDigest"
        accepted = self.limits.header_digests if header else self.limits.data_digests
        for choice in value.split(","):
            if choice in accepted and choice in ("CRC32C", "None"):
                on = choice == "CRC32C"
                if header:
                    self.params.header_digest = on
                else:
                    self.params.data_digest = on
                return choice
        return REJECT

    def _number(self, key: str, value: str) -> str:
        low, high, combine, attr, ours = self.numeric[key]
        n = parse_number(value)
        if n is None or not low <= n <= high:
            return REJECT
        result = combine(n, ours)
        if attr:
            setattr(self.params, attr, result)
        return str(result)

    def _flag(self, key: str, value: str) -> str:
        is_or, attr, ours = self.boolean[key]
        offered = parse_bool(value)
        if offered is None:
            return REJECT
        result = (offered or ours) if is_or else (offered and ours)
        setattr(self.params, attr, result)
        return "Yes" if result else "No"

"""Text requests in full feature phase: SendTargets (RFC 7143 section 6.3 and annex C).

A discovery session asks ``SendTargets=All`` (or one name); a normal
session may ask ``SendTargets=`` for its own target. The initiator name is
only claimed, so a target that needs CHAP is listed only to a discovery
session that proved that initiator's CHAP credentials for it
(``iscsi.discovery_auth``, see ``TargetServer.discovered_targets``). The answer lists
``TargetName`` then one ``TargetAddress=<ip>:<port>,<tpgt>`` per listening portal
of the portal groups the target is reachable through.
An answer longer than the initiator's MaxRecvDataSegmentLength goes out in
pieces (C bit), each fetched by an empty request carrying our TTT.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from blockstore.iscsi import pdu as P
from blockstore.iscsi.negotiate import MAX_SEGMENT, MIN_SEGMENT, parse_number
from blockstore.iscsi.session import SessionType
from blockstore.iscsi.textkeys import MAX_TEXT, NOT_UNDERSTOOD, REJECT, TextError, encode_text
from blockstore.iscsi.textkeys import parse_text as parse_text_keys

if TYPE_CHECKING:
    from blockstore.iscsi.connection import Connection

_LOGIN_ONLY = {
    "AuthMethod", "InitiatorName", "TargetName", "SessionType", "HeaderDigest", "DataDigest",
    "MaxConnections", "InitialR2T", "ImmediateData", "MaxBurstLength", "FirstBurstLength",
    "DefaultTime2Wait", "DefaultTime2Retain", "MaxOutstandingR2T", "DataPDUInOrder",
    "DataSequenceInOrder", "ErrorRecoveryLevel",
}  # fmt: skip


class TextExchange:
    """The text request/response state of one connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._request = bytearray()  # request text split over PDUs (C bit)
        self._request_itt: int | None = None
        self._answer = b""  # the rest of a long response
        self._answer_key: tuple[int, int] | None = None  # (ITT, TTT) that fetches it

    async def handle(self, pdu: P.Pdu) -> None:
        itt, ttt = pdu.itt, pdu.f20
        if ttt != P.RESERVED_TAG and self._answer_key == (itt, ttt):
            self._send_piece(pdu)
            return
        if ttt != P.RESERVED_TAG and self._request_itt != itt:
            self.conn.reject(pdu, P.RejectReason.INVALID_PDU_FIELD)
            return
        self._answer, self._answer_key = b"", None
        if self._request_itt not in (None, itt):
            self._request.clear()
        self._request_itt = itt
        self._request += pdu.data
        if len(self._request) > MAX_TEXT:
            self._request.clear()
            self._request_itt = None
            self.conn.reject(pdu, P.RejectReason.PROTOCOL_ERROR)
            return
        if pdu.flags & P.F_CONTINUE:
            self._send(pdu, b"", final=False, ttt=self.conn.new_ttt())
            return
        text, self._request_itt = bytes(self._request), None
        self._request.clear()
        try:
            pairs = parse_text_keys(text)
        except TextError:
            self.conn.reject(pdu, P.RejectReason.PROTOCOL_ERROR)
            return
        self._answer = encode_text(self._answer_pairs(pairs))
        self._send_piece(pdu)

    def _answer_pairs(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for key, value in pairs:
            if key == "SendTargets":
                out += self._send_targets(value)
            elif key == "MaxRecvDataSegmentLength":
                n = parse_number(value)
                if n is None or not MIN_SEGMENT <= n <= MAX_SEGMENT:
                    out.append((key, REJECT))
                else:
                    self.conn.params.initiator_max_recv = n
            elif key in _LOGIN_ONLY:
                out.append((key, REJECT))
            else:
                out.append((key, NOT_UNDERSTOOD))
        return out

    def _send_targets(self, value: str) -> list[tuple[str, str]]:
        conn = self.conn
        session = conn.session
        assert session is not None
        server = conn.server
        if session.kind is SessionType.DISCOVERY:
            found = server.discovered_targets(session.initiator_name, session.proven)
            targets = found if value == "All" else [t for t in found if t.iqn == value.lower()]
        else:
            own = session.target
            if value == "All" or own is None:
                return [("SendTargets", REJECT)]
            targets = [own] if value in ("", own.iqn) else []
        out: list[tuple[str, str]] = []
        for target in targets:
            addresses = server.portal_addresses(conn.stream.local, target)
            if addresses:  # reachable through no listening portal group: not offered
                out.append(("TargetName", target.iqn))
                out += [("TargetAddress", address) for address in addresses]
        return out

    def _send_piece(self, pdu: P.Pdu) -> None:
        limit = self.conn.params.initiator_max_recv
        piece, rest = self._answer[:limit], self._answer[limit:]
        if rest:
            ttt = self.conn.new_ttt()
            self._answer, self._answer_key = rest, (pdu.itt, ttt)
            self._send(pdu, piece, final=False, ttt=ttt, more=True)
        else:
            self._answer, self._answer_key = b"", None
            self._send(pdu, piece, final=True, ttt=P.RESERVED_TAG)

    def _send(self, pdu: P.Pdu, data: bytes, *, final: bool, ttt: int, more: bool = False) -> None:
        conn = self.conn
        exp, mx = conn.windows()
        flags = (P.F_FINAL if final else 0) | (P.F_CONTINUE if more else 0)
        header = P.pack(
            P.Op.TEXT_RESPONSE, flags, dlen=len(data), lun=pdu.lun, f16=pdu.itt, f20=ttt,
            f24=conn.next_stat_sn(), f28=exp, f32=mx,
        )  # fmt: skip
        conn.send(header, data)

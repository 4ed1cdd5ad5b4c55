"""The login phase (RFC 7143 sections 6 and 11.12-11.13).

Stages: security negotiation (CSG 0: AuthMethod, CHAP), login operational
negotiation (CSG 1: the keys of ``negotiate.py``), then full feature phase
(NSG 3). The target transits only when the initiator asks to (T bit) and
its own side is done (authentication passed). Every failure is answered
with a Login Response carrying the RFC's status class and detail, and the
connection is closed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, NoReturn

from blockstore.iscsi import pdu as P
from blockstore.iscsi.chap import ChapError, ChapExchange, Credentials
from blockstore.iscsi.negotiate import Negotiator
from blockstore.iscsi.session import Session, SessionType
from blockstore.iscsi.target import AccessDenied, Target, normalize_name
from blockstore.iscsi.textkeys import IRRELEVANT, MAX_TEXT, REJECT, TextError, encode_text
from blockstore.iscsi.textkeys import parse_text as parse_text_keys

if TYPE_CHECKING:
    from blockstore.iscsi.connection import Connection

log = logging.getLogger(__name__)

SECURITY, OPERATIONAL, FULL_FEATURE = 0, 1, 3
LOGIN_MAX_DATA = 8192

# Status class << 8 | detail (RFC 7143 11.13.5).
INITIATOR_ERROR = 0x0200
AUTH_FAILED = 0x0201
FORBIDDEN = 0x0202
NOT_FOUND = 0x0203
TARGET_REMOVED = 0x0204
UNSUPPORTED_VERSION = 0x0205
TOO_MANY_CONNECTIONS = 0x0206
MISSING_PARAMETER = 0x0207
SESSION_TYPE_UNSUPPORTED = 0x0209
NO_SESSION = 0x020A
INVALID_DURING_LOGIN = 0x020B
OUT_OF_RESOURCES = 0x0302
# When each refusal is sent (published in docs/iscsi.md).
REFUSALS = {
    INITIATOR_ERROR: "malformed login: bad text or stage transition, ISID/ITT/CID changed, "
    "bad InitiatorName, no acceptable digest",
    AUTH_FAILED: "CHAP failed, or CHAP required but not offered (or security stage skipped)",
    FORBIDDEN: "initiator not on the target's ACL",
    NOT_FOUND: "no such target",
    TARGET_REMOVED: "target removed during the login",
    UNSUPPORTED_VERSION: "Version-min above 0",
    TOO_MANY_CONNECTIONS: "a second connection to a session (MaxConnections=1)",
    MISSING_PARAMETER: "InitiatorName missing, or TargetName of a normal session",
    SESSION_TYPE_UNSUPPORTED: "SessionType other than Normal or Discovery",
    NO_SESSION: "TSIH names no session",
    INVALID_DURING_LOGIN: "a PDU other than Login Request during login",
    OUT_OF_RESOURCES: "no TSIH left",
}

_SECURITY_KEYS = {"AuthMethod", "CHAP_A", "CHAP_I", "CHAP_C", "CHAP_N", "CHAP_R"}
_DECLARED = {"InitiatorName", "TargetName", "SessionType", "InitiatorAlias"}


class LoginFailed(Exception):
    """The login was refused (and the refusal sent)."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(f"{status:#06x}: {why}")
        self.status = status


class Login:
    """Drives the login of one connection; ``run()`` returns the new session."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.server = conn.server
        self.first: P.Pdu | None = None
        self.identified = False
        self.initiator_name = ""
        self.kind = SessionType.NORMAL
        self.target: Target | None = None
        self.credentials: Credentials | None = None
        self.alternatives: tuple[Credentials, ...] = ()  # discovery: any of these proves too
        self.optional = False  # discovery: CHAP offered but not required
        self.authenticated = False
        self.chap: ChapExchange | None = None
        self.negotiator = Negotiator(self.server.limits)
        self.declared_tpgt = False
        self.declared_mrdsl = False
        self.cmd_sn = 0
        self._text = bytearray()

    async def run(self) -> Session:
        conn = self.conn
        while True:
            pdu = await conn.read_header(LOGIN_MAX_DATA)
            if pdu.opcode != P.Op.LOGIN:
                await conn.discard_data(pdu)
                self._refuse(pdu, INVALID_DURING_LOGIN, "non-login PDU during login")
            data = await conn.read_data(pdu)
            session = self._step(pdu, data)
            if session is not None:
                return session

    # -- one request ------------------------------------------------------------------

    def _step(self, pdu: P.Pdu, data: bytes | memoryview) -> Session | None:
        self._check_header(pdu)
        transit = bool(pdu.flags & P.F_TRANSIT)
        csg, nsg = (pdu.flags >> 2) & 3, pdu.flags & 3
        self._text += data
        if len(self._text) > MAX_TEXT:
            self._refuse(pdu, INITIATOR_ERROR, "login text too long")
        if pdu.flags & P.F_CONTINUE:
            if transit:
                self._refuse(pdu, INITIATOR_ERROR, "T and C bits both set")
            self._respond(pdu, [], transit=False, csg=csg, nsg=0)
            return None
        try:
            pairs = parse_text_keys(bytes(self._text))
        except TextError as exc:
            self._refuse(pdu, INITIATOR_ERROR, str(exc))
        self._text.clear()
        if csg not in (SECURITY, OPERATIONAL):
            self._refuse(pdu, INITIATOR_ERROR, f"bad current stage {csg}")
        if transit and (nsg == 2 or nsg <= csg):
            self._refuse(pdu, INITIATOR_ERROR, f"bad stage transition {csg}->{nsg}")
        if not self.identified:
            self._identify(pdu, dict(pairs))
            self.identified = True
        answers = self._declarations()
        if csg == SECURITY:
            answers += self._security(pdu, pairs)
            done = self.authenticated
        else:
            if not self.authenticated:
                if self.credentials is not None and not self.optional:
                    self._refuse(pdu, AUTH_FAILED, "authentication required")
                self.authenticated = True
            answers += self._operational(pairs)
            done = True
        transit = transit and done
        if transit and nsg == FULL_FEATURE:
            if csg == OPERATIONAL:  # e.g. libiscsi: one operational request straight to FFP
                answers += self._declare_mrdsl()
            return self._complete(pdu, answers)
        if csg == OPERATIONAL or (transit and nsg == OPERATIONAL):
            answers += self._declare_mrdsl()
        self._respond(pdu, answers, transit=transit, csg=csg, nsg=nsg if transit else 0)
        return None

    def _check_header(self, pdu: P.Pdu) -> None:
        if pdu.b3 > 0:  # Version-min above 0: we speak only version 0
            self._refuse(pdu, UNSUPPORTED_VERSION, "unsupported version")
        if self.first is None:
            self.first = pdu
            self.cmd_sn = pdu.f24
            self.conn.stat_sn = pdu.f28  # start StatSN at the initiator's ExpStatSN
            self.conn.cid = pdu.f20 >> 16
            return
        first = self.first
        if pdu.lun != first.lun or pdu.itt != first.itt or (pdu.f20 >> 16) != self.conn.cid:
            self._refuse(pdu, INITIATOR_ERROR, "ISID, TSIH, ITT or CID changed during login")

    def _identify(self, pdu: P.Pdu, keys: dict[str, str]) -> None:
        """First request: who is the initiator, what session type, which target."""
        name = keys.get("InitiatorName")
        if not name:
            self._refuse(pdu, MISSING_PARAMETER, "InitiatorName missing")
        try:
            self.initiator_name = normalize_name(name)
        except ValueError as exc:
            self._refuse(pdu, INITIATOR_ERROR, str(exc))
        session_type = keys.get("SessionType", "Normal")
        if session_type not in ("Normal", "Discovery"):
            self._refuse(pdu, SESSION_TYPE_UNSUPPORTED, f"session type {session_type}")
        self.kind = SessionType(session_type)
        if self.kind is SessionType.DISCOVERY:
            choices = self.server.discovery_choices(self.initiator_name)
            if self.server.discovery_auth == "chap" and not choices:
                self._refuse(pdu, AUTH_FAILED, "discovery needs CHAP; no credentials fit")
            if choices:
                self.credentials, self.alternatives = choices[0], choices[1:]
            self.optional = self.server.discovery_auth != "chap"
            return
        target_name = keys.get("TargetName")
        if not target_name:
            self._refuse(pdu, MISSING_PARAMETER, "TargetName missing")
        target = self.server.get_target(target_name)
        if target is None:
            self._refuse(pdu, NOT_FOUND, f"no target {target_name[:100]!r}")
        if not target.reachable_through(self.conn.portal.tag):
            self._refuse(pdu, NOT_FOUND, f"target not reachable through portal group "
                                         f"{self.conn.portal.tag}")  # fmt: skip
        try:
            self.credentials = target.credentials_for(self.initiator_name)
        except AccessDenied:
            self._refuse(pdu, FORBIDDEN, f"{self.initiator_name[:100]} not on the ACL")
        self.target = target

    def _declarations(self) -> list[tuple[str, str]]:
        """TargetPortalGroupTag (and alias) in the first response of a normal session."""
        if self.declared_tpgt or self.kind is not SessionType.NORMAL:
            return []
        self.declared_tpgt = True
        out = [("TargetPortalGroupTag", str(self.conn.portal.tag))]
        if self.target is not None and self.target.alias:
            out.append(("TargetAlias", self.target.alias))
        return out

    def _declare_mrdsl(self) -> list[tuple[str, str]]:
        if self.declared_mrdsl:
            return []
        self.declared_mrdsl = True
        return [("MaxRecvDataSegmentLength", str(self.server.limits.max_recv_data_segment_length))]

    def _security(self, pdu: P.Pdu, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        answers: list[tuple[str, str]] = []
        keys = dict(pairs)
        if "AuthMethod" in keys:
            answers.append(("AuthMethod", self._auth_method(pdu, keys["AuthMethod"])))
        if "CHAP_A" in keys:
            if self.chap is None or self.authenticated:
                self._refuse(pdu, AUTH_FAILED, "CHAP_A out of turn")
            if "5" not in keys["CHAP_A"].split(","):
                self._refuse(pdu, AUTH_FAILED, "no supported CHAP algorithm")
            answers += self.chap.challenge_keys()
        elif "CHAP_N" in keys or "CHAP_R" in keys:
            if self.chap is None or self.authenticated:
                self._refuse(pdu, AUTH_FAILED, "CHAP response out of turn")
            try:
                answers += self.chap.verify(keys)
            except ChapError as exc:
                self._refuse(pdu, AUTH_FAILED, str(exc))
            self.authenticated = True
        elif (
            self.chap is None
            and not self.authenticated
            and (self.credentials is None or self.optional)
        ):
            self.authenticated = True  # no AuthMethod offered and none needed
        return answers + self._negotiate([(k, v) for k, v in pairs if k not in _SECURITY_KEYS])

    def _auth_method(self, pdu: P.Pdu, offered: str) -> str:
        choices = offered.split(",")
        if self.credentials is None:
            if "None" in choices:
                self.authenticated = True
                return "None"
            self._refuse(pdu, AUTH_FAILED, "initiator offers only methods we cannot use")
        if "CHAP" not in choices:
            if self.optional and "None" in choices:
                self.authenticated = True  # discovery without CHAP: protected targets unlisted
                return "None"
            self._refuse(pdu, AUTH_FAILED, "CHAP required")
        self.chap = ChapExchange(self.credentials, self.alternatives)
        return "CHAP"

    def _operational(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        late = [(key, IRRELEVANT) for key, _ in pairs if key in _SECURITY_KEYS]
        return late + self._negotiate([(k, v) for k, v in pairs if k not in _SECURITY_KEYS])

    def _negotiate(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Answers to the operational keys of one request (declarations need none)."""
        answers: list[tuple[str, str]] = []
        for key, value in pairs:
            if key not in _DECLARED:
                answer = self.negotiator.answer(key, value)
                if answer is not None:
                    answers.append((key, answer))
        fixed = self.negotiator.finish()
        return [(k, fixed.get(k, v)) for k, v in answers]

    # -- completion -------------------------------------------------------------------

    def _complete(self, pdu: P.Pdu, answers: list[tuple[str, str]]) -> Session:
        tsih = int.from_bytes(pdu.lun[6:8], "big")
        if tsih:
            existing = self.server.session_by_tsih(tsih)
            status = TOO_MANY_CONNECTIONS if existing is not None else NO_SESSION
            self._refuse(pdu, status, "adding connections to a session is not supported")
        if any(v == REJECT for k, v in answers if k in ("HeaderDigest", "DataDigest")):
            self._refuse(pdu, INITIATOR_ERROR, "no acceptable digest")
        params = self.negotiator.params
        if not self.declared_mrdsl:
            params.target_max_recv = LOGIN_MAX_DATA  # never declared: the default stands
        if self.target is not None and self.target.removed:
            self._refuse(pdu, TARGET_REMOVED, "target removed")
        session = self.server.open_session(
            isid=pdu.lun[:6], initiator_name=self.initiator_name, target=self.target,
            kind=self.kind, params=params, cmd_sn=self.cmd_sn,
            portal_group_tag=self.conn.portal.tag,
        )  # fmt: skip
        if session is None:
            self._refuse(pdu, OUT_OF_RESOURCES, "too many sessions")
        session.connection = self.conn
        session.proven = self.chap.credentials if self.chap is not None else None
        self.conn.session = session
        self._respond(pdu, answers, transit=True, csg=(pdu.flags >> 2) & 3, nsg=FULL_FEATURE,
                      tsih=session.tsih)  # fmt: skip
        log.info(
            "login: %s (%s) -> %s, TSIH %d, digests header=%s data=%s",
            self.initiator_name, self.kind.value, self.target.iqn if self.target else "-",
            session.tsih, "CRC32C" if params.header_digest else "None",
            "CRC32C" if params.data_digest else "None",
        )  # fmt: skip
        return session

    # -- responses --------------------------------------------------------------------

    def _respond(
        self, pdu: P.Pdu, answers: list[tuple[str, str]], *, transit: bool, csg: int, nsg: int,
        tsih: int = 0, status: int = 0,
    ) -> None:  # fmt: skip
        conn = self.conn
        data = encode_text(answers)
        flags = (P.F_TRANSIT if transit else 0) | (csg << 2) | nsg
        session = conn.session
        exp = session.exp_cmd_sn if session is not None else self.cmd_sn
        mx = session.max_cmd_sn if session is not None else self.cmd_sn
        header = P.pack(
            P.Op.LOGIN_RESPONSE, flags, 0, 0, len(data), pdu.lun[:6] + tsih.to_bytes(2, "big"),
            pdu.itt, 0, conn.next_stat_sn(), exp, mx, status << 16, 0, 0,
        )  # fmt: skip
        conn.send(header, data)

    def _refuse(self, pdu: P.Pdu, status: int, why: str) -> NoReturn:
        """Send a failing Login Response and end the login (raises)."""
        log.info("login from %s refused: %s", self.conn.stream.peer, why)
        csg = (pdu.flags >> 2) & 3
        self._respond(pdu, [], transit=False, csg=csg if csg < 2 else 0, nsg=0, status=status)
        raise LoginFailed(status, why)

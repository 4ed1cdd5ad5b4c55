"""CHAP for iSCSI login (RFC 1994 as profiled by RFC 7143 section 12.1.3).

Only MD5 (``CHAP_A=5``). The response is ``MD5(identifier || secret ||
challenge)``. Binary values travel as ``0x`` hex or ``0b`` base64. The
target's challenge is random per login; a mutual challenge equal to ours
is refused (it would let a peer reflect our own challenge back at us).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from stratus.digits import ascii_uint

CHAP_MD5 = 5
CHALLENGE_LEN = 16
MAX_BINARY = 1024  # bytes of a decoded CHAP_C / CHAP_R


@dataclass(frozen=True)
class Credentials:
    """What one initiator must prove (and, for mutual CHAP, what we prove back)."""

    user: str
    secret: str
    mutual_user: str | None = None
    mutual_secret: str | None = None

    def __repr__(self) -> str:  # never print secrets
        return f"Credentials(user={self.user!r}, mutual={self.mutual_user is not None})"


class ChapError(ValueError):
    """Authentication failed (the login answers status 0x0201)."""


def decode_binary(value: str) -> bytes:
    """A CHAP binary value: ``0x``/``0X`` hex or ``0b``/``0B`` base64."""
    try:
        if value[:2] in ("0x", "0X"):
            digits = value[2:]
            if len(digits) % 2:
                digits = "0" + digits
            raw = bytes.fromhex(digits)
        elif value[:2] in ("0b", "0B"):
            raw = base64.b64decode(value[2:], validate=True)
        else:
            raise ChapError("CHAP binary value is neither hex nor base64")
    except (ValueError, binascii.Error):
        raise ChapError("malformed CHAP binary value") from None
    if not raw or len(raw) > MAX_BINARY:
        raise ChapError("CHAP binary value empty or too long")
    return raw


def encode_binary(raw: bytes) -> str:
    return "0x" + raw.hex()


def response(identifier: int, secret: str, challenge: bytes) -> bytes:
    return hashlib.md5(bytes((identifier,)) + secret.encode() + challenge).digest()


class ChapExchange:
    """The target's side of one CHAP exchange: challenge, verify, answer mutual."""

    def __init__(
        self, credentials: Credentials, alternatives: tuple[Credentials, ...] = ()
    ) -> None:
        """``alternatives``: other credentials the initiator may prove instead (discovery:
        one of its own ACL entries); ``credentials`` ends as the one proven."""
        self.credentials = credentials
        self.alternatives = alternatives
        self.identifier = secrets.randbelow(256)
        self.challenge = secrets.token_bytes(CHALLENGE_LEN)

    def challenge_keys(self) -> list[tuple[str, str]]:
        return [
            ("CHAP_A", str(CHAP_MD5)),
            ("CHAP_I", str(self.identifier)),
            ("CHAP_C", encode_binary(self.challenge)),
        ]

    def verify(self, keys: dict[str, str]) -> list[tuple[str, str]]:
        """Check CHAP_N/CHAP_R; return the mutual CHAP_N/CHAP_R keys (or none)."""
        name, answer = keys.get("CHAP_N"), keys.get("CHAP_R")
        if name is None or answer is None:
            raise ChapError("CHAP_N and CHAP_R are required")
        given = decode_binary(answer)
        for creds in (self.credentials, *self.alternatives):
            expected = response(self.identifier, creds.secret, self.challenge)
            name_ok = hmac.compare_digest(name.encode(), creds.user.encode())
            if hmac.compare_digest(given, expected) and name_ok:
                self.credentials = creds
                break
        else:
            raise ChapError("CHAP response does not match")
        if "CHAP_I" not in keys and "CHAP_C" not in keys:
            return []
        return self._mutual(keys)

    def _mutual(self, keys: dict[str, str]) -> list[tuple[str, str]]:
        creds = self.credentials
        if creds.mutual_user is None or creds.mutual_secret is None:
            raise ChapError("initiator asked for mutual CHAP but none is configured")
        ident_text, chal_text = keys.get("CHAP_I"), keys.get("CHAP_C")
        identifier = ascii_uint(ident_text) if ident_text is not None else None
        if identifier is None or chal_text is None:
            raise ChapError("mutual CHAP needs CHAP_I and CHAP_C")
        challenge = decode_binary(chal_text)
        if identifier > 255:
            raise ChapError("CHAP_I out of range")
        if challenge == self.challenge:
            raise ChapError("mutual challenge reflects ours")
        proof = response(identifier, creds.mutual_secret, challenge)
        return [("CHAP_N", creds.mutual_user), ("CHAP_R", encode_binary(proof))]

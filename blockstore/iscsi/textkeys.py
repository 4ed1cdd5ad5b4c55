"""The key=value text of Login and Text PDUs (RFC 7143 section 6.1).

Each pair is ``key=value`` in UTF-8 followed by a NUL byte. Sizes are
bounded here, once, so that a peer can never make the target hold an
unbounded amount of negotiation text.
"""

from __future__ import annotations

import re

MAX_KEY_LEN = 63
MAX_VALUE_LEN = 8192  # simple values are <= 255; CHAP binary values may be longer
MAX_TEXT = 64 * 1024  # all the text of one request, C-bit continuations included
MAX_PAIRS = 256
_KEY_RE = re.compile(r"^[A-Za-z0-9.\-+@_]+$")

NOT_UNDERSTOOD = "NotUnderstood"
IRRELEVANT = "Irrelevant"
REJECT = "Reject"


class TextError(ValueError):
    """The text is malformed: the PDU that carried it is a protocol error."""


def parse_text(data: bytes | bytearray | memoryview) -> list[tuple[str, str]]:
    """The pairs of ``data`` in order (keys may repeat; callers decide)."""
    raw = bytes(data)
    if len(raw) > MAX_TEXT:
        raise TextError("text too long")
    # A peer may or may not end the last pair with NUL; padding NULs are not pairs.
    parts = [p for p in raw.split(b"\0") if p]
    if len(parts) > MAX_PAIRS:
        raise TextError("too many keys")
    pairs = []
    for part in parts:
        key, sep, value = part.partition(b"=")
        if not sep:
            raise TextError("a key without '='")
        try:
            k, v = key.decode("utf-8"), value.decode("utf-8")
        except UnicodeDecodeError:
            raise TextError("text is not UTF-8") from None
        if not k or len(k) > MAX_KEY_LEN or not _KEY_RE.fullmatch(k):  # ($ allows a "\n")
            raise TextError(f"bad key name {k[:MAX_KEY_LEN]!r}")
        if len(value) > MAX_VALUE_LEN:
            raise TextError(f"value of {k} too long")
        pairs.append((k, v))
    return pairs


def encode_text(pairs: list[tuple[str, str]]) -> bytes:
    """``key=value\\0`` for each pair."""
    return b"".join(f"{k}={v}".encode() + b"\0" for k, v in pairs)

"""Sealed objects: bytes stored encrypted by a front-end, readable only through it.

S3's server-side encryption (``s3compat.sse``) stores an object's bytes
encrypted under a key the native API does not hold (the customer's, for
SSE-C). Such an object carries the system entry :data:`ENTRY`, naming who
sealed it, so that every other reader refuses its bytes instead of serving
ciphertext as if it were the object; its metadata, size and copies (which
carry the entry and stay sealed) are unaffected.
"""

from __future__ import annotations

from collections.abc import Mapping

ENTRY = "sealed"  # system entry: the front-end that sealed the bytes ("s3-sse")


def sealed_by(system: Mapping[str, str]) -> str | None:
    return system.get(ENTRY) or None

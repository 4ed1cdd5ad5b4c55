"""Slow salted hashes of user keys.

Only the hash of a key is stored: whoever reads the identity database still
has to guess each key at scrypt's price, and /auth/v1.0 costs an attacker the
same. The parameters are stored with every hash, so they can be raised later
without invalidating existing keys.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

# scrypt cost: 2**15 * 8 * 128 bytes = 32 MiB and some tens of milliseconds per check.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
_DKLEN = 32
_SALT_BYTES = 16
_MAXMEM = 128 * 1024 * 1024
_MAX_N = 2**20


def hash_key(key: str) -> dict[str, Any]:
    """A new salted hash of ``key``, as a msgpack-ready dict."""
    salt = secrets.token_bytes(_SALT_BYTES)
    params = {"kdf": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": salt}
    return {**params, "hash": _derive(key, params)}


def verify_key(key: str, stored: dict[str, Any]) -> bool:
    """Whether ``key`` matches ``stored``, compared in constant time."""
    try:
        expected = stored["hash"]
        derived = _derive(key, stored)
    except (KeyError, TypeError, ValueError):
        return False
    return hmac.compare_digest(derived, expected)


def burn_time(key: str) -> None:
    """Spend what a real check costs, so a missing user is not told apart by timing."""
    _derive(key, _DUMMY)


def _derive(key: str, params: dict[str, Any]) -> bytes:
    if params.get("kdf") != "scrypt":
        raise ValueError(f"unknown key hash {params.get('kdf')!r}")
    n, r, p = int(params["n"]), int(params["r"]), int(params["p"])
    if not 2 <= n <= _MAX_N or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise ValueError("key hash parameters out of range")
    return hashlib.scrypt(
        key.encode("utf-8"),
        salt=bytes(params["salt"]),
        n=n,
        r=r,
        p=p,
        maxmem=_MAXMEM,
        dklen=_DKLEN,
    )


_DUMMY = {"kdf": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": b"\0" * 16}

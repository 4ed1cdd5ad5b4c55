"""TempURL keys and HMAC signatures, shared by ``tempurl`` and ``formpost``.

Both middlewares sign with the same keys: up to two on the account
(``X-Account-Meta-Temp-URL-Key``, ``-Key-2``) and two on the container
(``X-Container-Meta-Temp-URL-Key``, ``-Key-2``), two of each so a key can
be rotated without breaking the URLs and forms already handed out. A
signature is hex (its length names the digest) or ``<digest>:<base64>``
(standard or URL-safe), as Swift's ``extract_digest_and_algorithm`` reads
it; it is compared in constant time.

The keys are secrets: only users who may set them (the account's owner
with write rights, Swift's ``swift_owner``) see them on GET/HEAD of the
account or container; :func:`hide_keys` takes them off every other answer.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from objectstore.proxy.swift import auth

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx

#: Swift 2.38's supported digests (``allowed_digests`` as the reference cluster sets it).
ALLOWED_DIGESTS = ("sha1", "sha256", "sha512")
DEPRECATED_DIGESTS = ("sha1",)
HEX_LENGTHS = {40: "sha1", 64: "sha256", 128: "sha512"}
KEY_NAMES = ("temp-url-key", "temp-url-key-2")  # user metadata names, as stored
KEY_HEADERS = frozenset(
    f"x-{target}-meta-{name}" for target in ("account", "container") for name in KEY_NAMES
)
#: Swift's TempURL and FormPost 401s are made without the request: no account in the realm.
REALM = 'Swift realm="unknown"'
_B64 = frozenset(string.digits + string.ascii_letters + "/+")


@dataclass(frozen=True)
class Key:
    """A key and where it was found: what a signature made with it may reach."""

    secret: bytes
    account_wide: bool  # an account key; else a container key

    def scope(self, account: str, container: str) -> auth.SignedScope:
        return auth.SignedScope(account, None if self.account_wide else container)


def digests_info() -> dict[str, list[str]]:
    """The ``allowed_digests`` / ``deprecated_digests`` keys of both /info sections."""
    return {
        "allowed_digests": list(ALLOWED_DIGESTS),
        "deprecated_digests": list(DEPRECATED_DIGESTS),
    }


def parse_signature(value: str) -> tuple[str, str]:
    """``(digest, lower-case hex)`` of a client's signature; ValueError when malformed.

    ``<hex>``: the digest is named by the length (40, 64, 128);
    ``<digest>:<base64>``: any name (the caller checks it is allowed),
    standard or URL-safe base64, padding optional.
    """
    if ":" in value:
        algo, encoded = value.split(":", 1)
        if ("-" in encoded or "_" in encoded) and not ("+" in encoded or "/" in encoded):
            encoded = encoded.replace("-", "+").replace("_", "/")
        encoded += "=="
        if any(c not in _B64 for c in encoded.strip("=")):
            raise ValueError("invalid base64")
        return algo, base64.b64decode(encoded).hex()
    binascii.unhexlify(value)  # ValueError unless hex
    algo = HEX_LENGTHS.get(len(value))
    if algo is None:
        raise ValueError("bad digest length")
    return algo, value


def sign(key: bytes, message: str, digest: str) -> str:
    """The hex HMAC of ``message`` (UTF-8) with ``key``."""
    return hmac.new(key, message.encode("utf-8"), digest).hexdigest()


def matches(given: str, expected: str) -> bool:
    """Constant-time comparison of two hex signatures."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("ascii"))


async def keys(ctx: Ctx, account: str, container: str | None) -> list[Key]:
    """The account's keys, then the container's (none for a missing container).

    Read fresh on every signed request: a removed key stops working at once.
    """
    info = await ctx.core.head_account(account)
    found = [Key(info.user[n].encode("utf-8"), True) for n in KEY_NAMES if info.user.get(n)]
    if container:
        cinfo = await ctx.core.container_info(account, container)
        if cinfo is not None:
            found += [
                Key(cinfo.user[n].encode("utf-8"), False) for n in KEY_NAMES if cinfo.user.get(n)
            ]
    return found


def hide_keys(ctx: Ctx) -> None:
    """Take the keys off this account/container answer unless the caller may set them."""
    if ctx.obj is not None or ctx.method not in ("GET", "HEAD"):
        return
    access = auth.owner_access(ctx.principal, ctx.account)
    if access is not None and access.writer:
        return

    def strip(response: web.StreamResponse) -> None:
        for name in [h for h in response.headers if h.lower() in KEY_HEADERS]:
            response.headers.popall(name, None)

    ctx.on_prepare.append(strip)

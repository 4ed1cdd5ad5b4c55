"""Signing ring pushes: only a host of the cluster may give a storage node a new ring.

The node's internal API trusts its network (as Swift's does) for data
requests, but a ring decides where every object lives, so ``PUT /ring/<name>``
must prove it comes from whoever holds the cluster's secret. That secret is
the placement salts (``cluster.hash_path_prefix`` and ``_suffix``): every
node and proxy of a cluster already has them, they never change once data is
stored, and without them nobody can place data anyway. The key is derived
from them (HMAC-SHA256 under a fixed label), so the salts themselves never
key anything else.

A push carries ``X-Stratus-Ring-Timestamp`` (Unix seconds) and
``X-Stratus-Ring-Signature``: hex HMAC-SHA256 over the method, the path, the
timestamp and the SHA-256 of the body. The node compares in constant time
and refuses a timestamp more than ``MAX_SKEW`` seconds away from its clock.
A replayed push inside that window can only install the very same ring
again, and ring versions never go back, so a replay changes nothing.

Fetches (``GET /ring/<name>``, a node pulling from its ``cluster.ring_source``)
are signed the same way with an empty body, and the answer is signed too
(method ``ANSWER``, the ring file as body), so a host in between can neither
read another cluster's topology nor hand a node a ring of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

TIMESTAMP = "X-Stratus-Ring-Timestamp"
SIGNATURE = "X-Stratus-Ring-Signature"
RING_NAMES = ("account", "container", "object")
#: The pseudo-method that signs a node's answer to a fetch.
ANSWER = "ANSWER"
#: Seconds a signed push stays valid either side of the node's clock.
MAX_SKEW = 300.0
#: The largest ring file a node accepts (2**22 partitions x 3 replicas is 24 MiB).
MAX_RING_BYTES = 128 * 1024 * 1024
_LABEL = b"stratus ring push v1"


def ring_path(name: str) -> str:
    """The node path a ring is pushed to."""
    if name not in RING_NAMES:
        raise ValueError(f"no ring named {name!r}")
    return f"/ring/{name}"


def push_key(prefix: str, suffix: str) -> bytes | None:
    """The cluster's push key, from its placement salts (None: unsalted, no pushes)."""
    if not prefix and not suffix:
        return None
    secret = f"{len(prefix)}:{prefix}{suffix}".encode()
    return hmac.new(secret, _LABEL, hashlib.sha256).digest()


def _mac(key: bytes, method: str, path: str, timestamp: str, body_sha256: str) -> str:
    message = "\n".join((method.upper(), path, timestamp, body_sha256)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign(
    key: bytes, method: str, path: str, body: bytes, *, now: float | None = None
) -> dict[str, str]:
    """The headers that authenticate a push of ``body`` to ``path``."""
    timestamp = str(int(time.time() if now is None else now))
    digest = hashlib.sha256(body).hexdigest()
    return {TIMESTAMP: timestamp, SIGNATURE: _mac(key, method, path, timestamp, digest)}


def verify(
    key: bytes,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
) -> str | None:
    """Why the push is not authentic (None: it is)."""
    timestamp, signature = headers.get(TIMESTAMP), headers.get(SIGNATURE)
    if not timestamp or not signature:
        return "unsigned ring push"
    if not timestamp.isdigit() or len(timestamp) > 12:
        return "bad ring push timestamp"
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > MAX_SKEW:
        return f"ring push timestamp is more than {MAX_SKEW:.0f} s away from this node's clock"
    expected = _mac(key, method, path, timestamp, hashlib.sha256(body).hexdigest())
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()[:128]):
        return "bad ring push signature"
    return None

"""The placement hash: which partition a path lands in.

Every process of a cluster must agree on it, so it is xxh3-128 of the path
between the cluster's secret prefix and suffix (the salts keep users from
aiming many names at one partition), and the partition is the top
``part_power`` bits of the digest.
"""

from __future__ import annotations

import xxhash


def hash_path(
    account: str,
    container: str | None = None,
    obj: str | None = None,
    *,
    prefix: str = "",
    suffix: str = "",
) -> bytes:
    """The 16-byte digest of ``prefix + "/a[/c[/o]]" + suffix`` (UTF-8); also an object key."""
    if obj is not None and container is None:
        raise ValueError("an object path needs a container")
    if not isinstance(account, str) or not account:
        raise ValueError("account must be a non-empty string")
    path = "/" + account
    if container is not None:
        path += "/" + container
        if obj is not None:
            path += "/" + obj
    return xxhash.xxh3_128_digest((prefix + path + suffix).encode("utf-8"))


def part_of(digest: bytes, part_power: int) -> int:
    """The partition of a digest: its top ``part_power`` bits."""
    return int.from_bytes(digest[:8], "big") >> (64 - part_power)

"""Container ACL headers: ``X-Container-Read`` / ``X-Container-Write`` in Swift's syntax.

Swift accepts more spellings than it stores: ``.ref``, ``.referer`` and
``.referrer`` for ``.r``, ``*.example.com`` for ``.example.com``, blanks
around items. :func:`clean_acl` normalises a header into the stored form
that :mod:`objectstore.proxy.acl` reads and judges (and S3 writes), and
rejects what Swift rejects, with Swift's messages.
"""

from __future__ import annotations

REFERRER_DESIGNATORS = (".r", ".ref", ".referer", ".referrer")


def clean_acl(header: str, value: str) -> str:
    """Normalise an ACL header value; ValueError with Swift's message when invalid."""
    header = header.lower()
    items: list[str] = []
    for raw in value.split(","):
        item = raw.strip()
        if not item:
            continue
        if ":" not in item:
            items.append(item)
            continue
        first, second = (part.strip() for part in item.split(":", 1))
        if not first or first[0] != ".":
            items.append(item)
        elif first in REFERRER_DESIGNATORS:
            if "write" in header:
                raise ValueError(f"Referrers not allowed in write ACL: {item!r}")
            negate = second.startswith("-")
            if negate:
                second = second[1:].strip()
            if second and second != "*" and second[0] == "*":
                second = second[1:].strip()
            if not second or second == ".":
                raise ValueError(
                    f"No host/domain value after referrer designation in ACL: {item!r}"
                )
            items.append(f".r:{'-' if negate else ''}{second}")
        else:
            raise ValueError(f"Unknown designator {first!r} in ACL: {item!r}")
    return ",".join(items)

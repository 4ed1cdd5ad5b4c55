"""Container ACLs: ``X-Container-Read`` / ``X-Container-Write`` in Swift's syntax.

An ACL is a comma-separated list of items:

- ``.r:<host>`` (also ``.ref``, ``.referer``, ``.referrer``): read access for
  requests whose Referer host matches; ``*`` is anyone (public read),
  ``.example.com`` a domain, ``-host`` a denial. Read ACLs only.
- ``.rlistings``: with a referrer grant, also allow listing the container.
- ``<project>:<user>``, ``<project>:*``, ``*:<user>``, ``*:*``: authenticated
  users, by project and user name.
- ``<project>`` or ``AUTH_<project>``: every user of that project.

:func:`clean_acl` normalises a header before it is stored and rejects what
Swift rejects, with Swift's messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlparse

REFERRER_DESIGNATORS = (".r", ".ref", ".referer", ".referrer")


class Principal(Protocol):
    project: str
    user: str

    @property
    def account(self) -> str: ...


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


@dataclass(frozen=True)
class Acl:
    """A parsed (clean) ACL: referrer designations and grants."""

    referrers: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    @classmethod
    def parse(cls, value: str | None) -> Acl:
        if not value:
            return cls()
        referrers, groups = [], []
        for item in value.split(","):
            if item.startswith(".r:"):
                referrers.append(item[3:])
            elif item:
                groups.append(item)
        return cls(tuple(referrers), tuple(groups))

    @property
    def listings(self) -> bool:
        """``.rlistings``: referrer-granted readers may list the container too."""
        return ".rlistings" in self.groups

    def referrer_allowed(self, referer: str | None) -> bool:
        """True when the Referer's host is granted (later items override earlier ones)."""
        allow = False
        if not self.referrers:
            return False
        host = urlparse(referer or "").hostname or "unknown"
        for spec in self.referrers:
            if spec.startswith("-"):
                if _host_matches(spec[1:], host):
                    allow = False
            elif spec == "*" or _host_matches(spec, host):
                allow = True
        return allow

    def grants(self, principal: Principal) -> bool:
        """True when an item names the principal's project and user."""
        for item in self.groups:
            if item.startswith("."):
                continue
            project, sep, user = item.partition(":")
            if not sep:
                if item in (principal.project, principal.account):
                    return True
                continue
            if project in ("*", principal.project) and user in ("*", principal.user):
                return True
        return False


def _host_matches(spec: str, host: str) -> bool:
    return spec == host or (spec.startswith(".") and host.endswith(spec))

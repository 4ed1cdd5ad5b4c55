"""Container ACLs as stored and judged, the one model both front-ends share.

A container keeps two ACLs, read and write (Swift's ``X-Container-Read``
and ``X-Container-Write``, S3's bucket ACL), each a clean comma-separated
list of items:

- ``.r:<host>``: read access for requests whose Referer host matches;
  ``*`` is anyone (public read), ``.example.com`` a domain, ``-host`` a
  denial (later items override earlier ones). Read ACLs only.
- ``.rlistings``: with a referrer grant, also allow listing the container.
- ``<project>:<user>``, ``<project>:*``, ``*:<user>``, ``*:*``: authenticated
  users, by project and user name.
- ``<project>`` or ``AUTH_<project>``: every user of that project.

So a grant made through either API holds in both. Two system flags switch
grants off for both front-ends (:func:`effective`): ``acl-off`` (every ACL
item; S3's BucketOwnerEnforced) and ``acl-no-public`` (``.r:`` items and
``*:*``; S3's IgnorePublicAcls). Protocol-neutral: how a
header is cleaned into this form (Swift's designators and messages) stays
with the front-end, as does who counts as the container's owner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlparse


class Principal(Protocol):
    """Who an ACL item names: a user of a project (owner of ``AUTH_<project>``)."""

    @property
    def project(self) -> str: ...

    @property
    def user(self) -> str: ...

    @property
    def account(self) -> str: ...


ACL_OFF = "acl-off"  # system flag "1": the container's ACLs grant nothing
ACL_NO_PUBLIC = "acl-no-public"  # system flag "1": public items (.r:, *:*) grant nothing


def effective(read_acl: str, write_acl: str, system: Mapping[str, str]) -> tuple[str, str]:
    """The (read, write) ACLs that grant, once the container's flags are applied."""
    if system.get(ACL_OFF) == "1":
        return "", ""
    if system.get(ACL_NO_PUBLIC) == "1":
        return _without_public(read_acl), _without_public(write_acl)
    return read_acl, write_acl


def _without_public(acl: str) -> str:
    return ",".join(i for i in acl.split(",") if i and not i.startswith(".r:") and i != "*:*")


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


def read_granted(
    read_acl: str | None, principal: Principal | None, referer: str | None, *, listing: bool
) -> bool:
    """Does a container's read ACL let this caller read its objects (or, ``listing``, list it)?

    A referrer grant covers listings only with ``.rlistings``, as in Swift.
    """
    acl = Acl.parse(read_acl)
    if principal is not None and acl.grants(principal):
        return True
    return acl.referrer_allowed(referer) and (not listing or acl.listings)


def write_granted(write_acl: str | None, principal: Principal | None) -> bool:
    """Does a container's write ACL let this caller change its objects?"""
    return principal is not None and Acl.parse(write_acl).grants(principal)

"""A bucket's access settings as stored: Object Ownership and Block Public Access.

Both live in the container's system metadata, like the bucket's other
configuration, so they persist and replicate with the bucket. This module
only reads and writes the stored form; the handlers are in
:mod:`s3compat.ownership` and :mod:`s3compat.public_access`, and
:mod:`s3compat.access` and :mod:`s3compat.acl` apply them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from objectstore.proxy.acl import ACL_NO_PUBLIC, ACL_OFF

OWNERSHIP_KEY = "s3-ownership"
PAB_KEY = "s3-public-access-block"

BUCKET_OWNER_ENFORCED = "BucketOwnerEnforced"
BUCKET_OWNER_PREFERRED = "BucketOwnerPreferred"
OBJECT_WRITER = "ObjectWriter"
OWNERSHIP_MODES = (BUCKET_OWNER_ENFORCED, BUCKET_OWNER_PREFERRED, OBJECT_WRITER)


def ownership(system: Mapping[str, str]) -> str | None:
    """The bucket's ObjectOwnership setting; None when none was ever set (ObjectWriter)."""
    value = system.get(OWNERSHIP_KEY)
    return value if value in OWNERSHIP_MODES else None


def ownership_system(mode: str | None) -> dict[str, str]:
    """System entries that set (None: remove) the ownership setting.

    BucketOwnerEnforced also switches the container's ACLs off for the native
    API (:data:`objectstore.proxy.acl.ACL_OFF`).
    """
    enforced = mode == BUCKET_OWNER_ENFORCED
    return {OWNERSHIP_KEY: mode or "", ACL_OFF: "1" if enforced else ""}


def acls_disabled(system: Mapping[str, str]) -> bool:
    """BucketOwnerEnforced: ACLs neither change nor grant anything."""
    return ownership(system) == BUCKET_OWNER_ENFORCED


@dataclass(frozen=True)
class PublicAccessBlock:
    """The four Block Public Access settings (all False: nothing blocked)."""

    block_public_acls: bool = False
    ignore_public_acls: bool = False
    block_public_policy: bool = False
    restrict_public_buckets: bool = False

    FIELDS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")

    def encode(self) -> str:
        """``1010``: one digit per setting, in :attr:`FIELDS` order."""
        flags = (
            self.block_public_acls,
            self.ignore_public_acls,
            self.block_public_policy,
            self.restrict_public_buckets,
        )
        return "".join("1" if f else "0" for f in flags)

    @classmethod
    def decode(cls, text: str) -> PublicAccessBlock:
        a, b, c, d = (ch == "1" for ch in (text + "0000")[:4])
        return cls(a, b, c, d)

    def as_dict(self) -> dict[str, bool]:
        return dict(zip(self.FIELDS, (c == "1" for c in self.encode()), strict=True))


def public_access_block(system: Mapping[str, str]) -> PublicAccessBlock:
    """The bucket's settings; all off when none are set."""
    text = system.get(PAB_KEY)
    return PublicAccessBlock.decode(text) if text else PublicAccessBlock()


def public_access_block_system(settings: PublicAccessBlock | None) -> dict[str, str]:
    """System entries that set (None: remove) the settings; IgnorePublicAcls also holds
    for the native API (:data:`objectstore.proxy.acl.ACL_NO_PUBLIC`)."""
    if settings is None:
        return {PAB_KEY: "", ACL_NO_PUBLIC: ""}
    return {PAB_KEY: settings.encode(), ACL_NO_PUBLIC: "1" if settings.ignore_public_acls else ""}


def has_public_access_block(system: Mapping[str, str]) -> bool:
    return bool(system.get(PAB_KEY))

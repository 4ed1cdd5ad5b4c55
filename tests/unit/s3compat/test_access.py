"""The role table: what each project role may do in the project's own buckets."""

from __future__ import annotations

import pytest

from s3compat.access import Right, role_grants
from stratus.identity.records import Principal


@pytest.mark.parametrize(
    ("roles", "rights"),
    [
        (("reader",), {Right.READ}),
        (("member",), {Right.READ, Right.WRITE}),
        (("admin",), {Right.READ, Right.WRITE, Right.MANAGE}),
        (("reader", "member"), {Right.READ, Right.WRITE}),
        # A role the table does not know (an ACL-only role, say) gives nothing.
        (("acl-only",), set()),
        ((), set()),
    ],
)
def test_role_rights(roles: tuple[str, ...], rights: set[Right]) -> None:
    who = Principal("p", "u", roles)
    assert {r for r in Right if role_grants(who, r)} == rights


def test_anonymous_has_no_role_rights() -> None:
    assert not any(role_grants(None, r) for r in Right)

"""Bucket policy conditions: every IAM operator family, IfExists, ForAnyValue / ForAllValues,
Null, policy variables; validation; NotPrincipal / NotResource; what counts as public."""

from __future__ import annotations

import json
from typing import Any

import pytest

from s3compat import policy
from s3compat import policy_conditions as pc
from s3compat.errors import S3Error

B = "bkt"
RES = f"arn:aws:s3:::{B}/k"


def _facts(values: dict[str, Any] | None = None, **kw: Any) -> policy.RequestFacts:
    base: dict[str, Any] = {
        "project": "alpha",
        "user": "alice",
        "source_ip": "10.1.2.3",
        "secure": False,
        "values": values or {},
    }
    base.update(kw)
    return policy.RequestFacts(**base)


def _allowed(condition: dict[str, Any], values: dict[str, Any] | None = None, **kw: Any) -> bool:
    st = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": f"arn:aws:s3:::{B}/*",
        "Condition": condition,
    }
    doc = json.loads(policy.validate(json.dumps({"Statement": [st]}).encode(), B))
    return policy.evaluate(doc, "s3:GetObject", RES, _facts(values, **kw)) == "Allow"


@pytest.mark.parametrize(
    "op,wanted,actual,hit",
    [
        ("StringEquals", "a", "a", True),
        ("StringEquals", ["x", "a"], "a", True),
        ("StringEquals", "A", "a", False),
        ("StringNotEquals", ["x", "y"], "a", True),
        ("StringNotEquals", ["x", "a"], "a", False),
        ("StringEqualsIgnoreCase", "A", "a", True),
        ("StringNotEqualsIgnoreCase", "A", "a", False),
        ("StringLike", "home/*", "home/x/y", True),
        ("StringLike", "h?me", "home", True),
        ("StringNotLike", "home/*", "etc", True),
        ("NumericEquals", "10", "10", True),
        ("NumericNotEquals", "10", "11", True),
        ("NumericLessThan", "10", "9", True),
        ("NumericLessThan", "10", "10", False),
        ("NumericLessThanEquals", "10", "10", True),
        ("NumericGreaterThan", "10", "11", True),
        ("NumericGreaterThanEquals", "10", "9", False),
        ("NumericEquals", "10", "ten", False),
        ("DateEquals", "2026-01-01T00:00:00Z", "1767225600", True),
        ("DateNotEquals", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", True),
        ("DateLessThan", "2026-01-01T00:00:00Z", "2025-12-31T23:59:59Z", True),
        ("DateLessThanEquals", "2026-01-01", "2026-01-01T00:00:00Z", True),
        ("DateGreaterThan", "2026-01-01T00:00:00Z", "2025-12-31T23:59:59Z", False),
        ("DateGreaterThanEquals", "2026-01-01T00:00:00+01:00", "2025-12-31T23:00:00Z", True),
        ("Bool", "true", "TRUE", True),
        ("Bool", "false", "true", False),
        ("BinaryEquals", "QmluYXJ5", "QmluYXJ5", True),
        ("ArnEquals", "arn:aws:s3:::b/*", "arn:aws:s3:::b/k", True),
        ("ArnLike", "arn:aws:iam::*:root", "arn:aws:iam::beta:root", True),
        ("ArnNotEquals", "arn:aws:iam::alpha:root", "arn:aws:iam::beta:root", True),
        ("ArnNotLike", "arn:aws:iam::*:root", "arn:aws:iam::beta:root", False),
    ],
)
def test_operators(op: str, wanted: Any, actual: str, hit: bool) -> None:
    assert _allowed({op: {"aws:Referer": wanted}}, {"aws:referer": actual}) is hit


def test_ip_addresses() -> None:
    assert _allowed({"IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "10.0.0.0/8"]}})
    assert not _allowed({"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}})
    assert _allowed({"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}})
    assert _allowed({"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}, source_ip="2001:db8::1")


def test_missing_keys_if_exists_and_null() -> None:
    # A positive operator on a missing key fails, a negated one holds, IfExists holds.
    assert not _allowed({"StringEquals": {"s3:x-amz-acl": "private"}})
    assert _allowed({"StringNotEquals": {"s3:x-amz-acl": "public-read"}})
    assert _allowed({"StringEqualsIfExists": {"s3:x-amz-acl": "private"}})
    assert not _allowed(
        {"StringEqualsIfExists": {"s3:x-amz-acl": "private"}}, {"s3:x-amz-acl": "public-read"}
    )
    assert _allowed({"NumericLessThanIfExists": {"s3:max-keys": "10"}})
    assert _allowed({"Null": {"s3:x-amz-server-side-encryption": "true"}})
    assert not _allowed(
        {"Null": {"s3:x-amz-server-side-encryption": "true"}},
        {"s3:x-amz-server-side-encryption": "AES256"},
    )
    assert _allowed(
        {"Null": {"s3:x-amz-server-side-encryption": "false"}},
        {"s3:x-amz-server-side-encryption": "AES256"},
    )


def test_set_operators() -> None:
    keys = "s3:RequestObjectTagKeys"
    any_of = {"ForAnyValue:StringEquals": {keys: ["team", "cost"]}}
    all_of = {"ForAllValues:StringEquals": {keys: ["team", "cost"]}}
    tags = {"s3:requestobjecttagkeys": ("team", "other")}
    assert _allowed(any_of, tags)
    assert not _allowed(all_of, tags)
    assert _allowed(all_of, {"s3:requestobjecttagkeys": ("team",)})
    assert _allowed(all_of)  # no values: ForAllValues holds
    assert not _allowed(any_of)  # no values: ForAnyValue fails
    none_of = {"ForAllValues:StringNotEquals": {keys: ["secret"]}}
    assert _allowed(none_of, tags)
    assert not _allowed(none_of, {"s3:requestobjecttagkeys": ("team", "secret")})


def test_policy_variables() -> None:
    cond = {"StringLike": {"s3:prefix": "home/${aws:username}/*"}}
    assert _allowed(cond, {"s3:prefix": "home/alice/docs"})
    assert not _allowed(cond, {"s3:prefix": "home/bob/docs"})
    literal = {"StringEquals": {"s3:prefix": "a${*}b"}}
    assert _allowed(literal, {"s3:prefix": "a*b"})
    assert not _allowed({"StringLike": {"s3:prefix": "a${*}b"}}, {"s3:prefix": "axxb"})


def test_keys_of_the_request() -> None:
    assert _allowed({"Bool": {"aws:SecureTransport": "true"}}, secure=True)
    assert _allowed({"StringEquals": {"aws:username": "alice"}})
    assert _allowed({"StringEquals": {"aws:PrincipalAccount": "alpha"}})
    assert not _allowed({"StringEquals": {"aws:username": "alice"}}, project=None, user=None)


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEqualz": {"aws:Referer": "x"}},
        {"ForSomeValues:StringEquals": {"aws:Referer": "x"}},
        {"ForAnyValue:Null": {"aws:Referer": "true"}},
        {"NumericLessThan": {"s3:max-keys": "ten"}},
        {"DateLessThan": {"aws:CurrentTime": "tomorrow"}},
        {"IpAddress": {"aws:SourceIp": "not-an-ip"}},
        {"Bool": {"aws:SecureTransport": "maybe"}},
        {"BinaryEquals": {"aws:Referer": "!!"}},
        {"StringEquals": {"s3:no-such-key": "x"}},
        {"StringEquals": {}},
        {"StringEquals": {"aws:Referer": []}},
        {"StringEquals": "x"},
    ],
)
def test_bad_conditions_are_malformed(condition: Any) -> None:
    with pytest.raises(S3Error) as exc:
        _allowed(condition)
    assert exc.value.code == "MalformedPolicy"


def test_operator_parsing() -> None:
    op = pc.parse_operator("ForAllValues:StringNotLikeIfExists")
    assert (op.base, op.negated, op.if_exists, op.quantifier) == (
        "StringNotLike",
        True,
        True,
        "ForAllValues",
    )
    assert pc.parse_operator("Null").test == "null"


def _eval(st: dict[str, Any], **kw: Any) -> str | None:
    base = {"Effect": "Deny", "Action": "s3:*", "Resource": f"arn:aws:s3:::{B}/*"}
    doc = json.loads(policy.validate(json.dumps({"Statement": [{**base, **st}]}).encode(), B))
    return policy.evaluate(doc, kw.pop("action", "s3:GetObject"), RES, _facts(**kw))


def test_not_principal_and_not_resource() -> None:
    st = {"NotPrincipal": {"AWS": "arn:aws:iam::alpha:root"}}
    assert _eval(st) is None
    assert _eval(st, project="beta", user="bob") == "Deny"
    assert _eval(st, project=None, user=None) == "Deny"
    st = {"Principal": "*", "NotResource": f"arn:aws:s3:::{B}/k"}
    del_resource = {"Effect": "Deny", "Action": "s3:*", **st}
    doc = json.loads(policy.validate(json.dumps({"Statement": [del_resource]}).encode(), B))
    assert policy.evaluate(doc, "s3:GetObject", RES, _facts()) is None
    assert policy.evaluate(doc, "s3:GetObject", RES + "2", _facts()) == "Deny"


def test_policies_kept_as_sent_and_checked() -> None:
    raw = (
        b'{\n  "Version": "2012-10-17",\n  "Statement": [ {"Effect":"Allow", "Principal":"*",'
        b' "Action":"s3:GetObject", "Resource":"arn:aws:s3:::bkt/*"} ]\n}\n'
    )
    assert policy.validate(raw, B).encode() == raw
    bad = [
        raw.replace(b"bkt/*", b"other/*"),  # another bucket
        raw.replace(b"2012-10-17", b"2020-01-01"),
        raw.replace(b'"Principal":"*"', b'"Principal":{"AWS":"arn:aws:iam::nobody:root"}'),
        raw.replace(b'"Principal":"*"', b'"Principal":{"Service":"ec2.amazonaws.com"}'),
        raw.replace(b'"Principal":"*"', b'"Principal":"*", "NotPrincipal":"*"'),
        b"{" + b" " * policy.MAX_POLICY + b"}",
    ]
    for doc in bad:
        with pytest.raises(S3Error) as exc:
            policy.validate(doc, B, known_project=lambda p: p in ("alpha", "beta"))
        assert exc.value.code == "MalformedPolicy", doc


@pytest.mark.parametrize(
    "statement,public",
    [
        ({"Principal": "*"}, True),
        ({"Principal": {"AWS": "*"}}, True),
        ({"Principal": {"AWS": "arn:aws:iam::beta:root"}}, False),
        ({"NotPrincipal": {"AWS": "beta"}}, True),
        ({"Principal": "*", "Condition": {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}}, False),
        ({"Principal": "*", "Condition": {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}}, True),
        ({"Principal": "*", "Condition": {"StringEquals": {"aws:SourceAccount": "1"}}}, False),
        ({"Principal": "*", "Condition": {"StringLike": {"aws:SourceAccount": "*"}}}, True),
        ({"Principal": "*", "Condition": {"StringEquals": {"s3:prefix": "a"}}}, True),
        ({"Principal": "*", "Effect": "Deny"}, False),
    ],
)
def test_what_is_public(statement: dict[str, Any], public: bool) -> None:
    st = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{B}/*"}
    assert policy.is_public({"Statement": [{**st, **statement}]}) is public

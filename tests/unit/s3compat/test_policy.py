from __future__ import annotations

import json

import pytest

from s3compat import policy
from s3compat.errors import S3Error

B = "bkt"


def _facts(**kw: object) -> policy.RequestFacts:
    base = {
        "project": "alpha",
        "user": "alice",
        "source_ip": "10.1.2.3",
        "secure": False,
        "values": {},
    }
    base.update(kw)
    return policy.RequestFacts(**base)  # type: ignore[arg-type]


def _doc(*statements: dict) -> dict:
    return json.loads(policy.validate(json.dumps({"Statement": list(statements)}).encode(), B))


def _st(effect: str = "Allow", **kw: object) -> dict:
    st = {
        "Effect": effect,
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{B}/*",
    }
    st.update(kw)
    return st


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"Statement": []}',
        json.dumps({"Statement": [_st(Effect="Perhaps")]}).encode(),
        json.dumps({"Statement": [_st(Resource="arn:aws:s3:::other/*")]}).encode(),
        json.dumps({"Statement": [_st(Action="ec2:RunInstances")]}).encode(),
        json.dumps(
            {"Statement": [_st(Condition={"DateGreaterThan": {"aws:CurrentTime": "x"}})]}
        ).encode(),
        json.dumps(
            {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*"}]}
        ).encode(),
    ],
)
def test_malformed_policies_are_refused(raw: bytes) -> None:
    with pytest.raises(S3Error) as exc:
        policy.validate(raw, B)
    assert exc.value.code == "MalformedPolicy"


def test_deny_wins_over_allow() -> None:
    doc = _doc(_st(), _st("Deny", Resource=f"arn:aws:s3:::{B}/secret/*"))
    f = _facts()
    assert policy.evaluate(doc, "s3:GetObject", f"arn:aws:s3:::{B}/pub/x", f) == "Allow"
    assert policy.evaluate(doc, "s3:GetObject", f"arn:aws:s3:::{B}/secret/x", f) == "Deny"
    assert policy.evaluate(doc, "s3:PutObject", f"arn:aws:s3:::{B}/pub/x", f) is None


@pytest.mark.parametrize(
    "principal,project,user,hit",
    [
        ("*", None, None, True),
        ({"AWS": "*"}, None, None, True),
        ({"AWS": "alpha"}, "alpha", "bob", True),
        ({"AWS": "arn:aws:iam::alpha:root"}, "alpha", "x", True),
        ({"AWS": ["arn:aws:iam::alpha:user/alice"]}, "alpha", "alice", True),
        ({"AWS": "arn:aws:iam::alpha:user/alice"}, "alpha", "bob", False),
        ({"AWS": "beta"}, "alpha", "alice", False),
        ({"AWS": "alpha"}, None, None, False),
    ],
)
def test_principals(principal: object, project: str | None, user: str | None, hit: bool) -> None:
    doc = _doc(_st(Principal=principal))
    got = policy.evaluate(
        doc, "s3:GetObject", f"arn:aws:s3:::{B}/k", _facts(project=project, user=user)
    )
    assert (got == "Allow") is hit


def test_wildcards_and_not_action() -> None:
    doc = _doc(_st(Action="s3:Get*", Resource=f"arn:aws:s3:::{B}/a?c"))
    f = _facts()
    assert policy.evaluate(doc, "s3:getobjecttagging", f"arn:aws:s3:::{B}/abc", f) == "Allow"
    assert policy.evaluate(doc, "s3:GetObject", f"arn:aws:s3:::{B}/abbc", f) is None
    doc = _doc(
        {
            "Effect": "Deny",
            "Principal": "*",
            "NotAction": "s3:Get*",
            "Resource": f"arn:aws:s3:::{B}/*",
        }
    )
    assert policy.evaluate(doc, "s3:PutObject", f"arn:aws:s3:::{B}/k", f) == "Deny"
    assert policy.evaluate(doc, "s3:GetObject", f"arn:aws:s3:::{B}/k", f) is None


def test_conditions() -> None:
    doc = _doc(
        _st(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        _st("Deny", Condition={"Bool": {"aws:SecureTransport": "false"}}, Action="s3:PutObject"),
        _st(
            Action="s3:ListBucket",
            Resource=f"arn:aws:s3:::{B}",
            Condition={"StringLike": {"s3:prefix": "home/*"}},
        ),
    )
    res = f"arn:aws:s3:::{B}/k"
    assert policy.evaluate(doc, "s3:GetObject", res, _facts()) == "Allow"
    assert policy.evaluate(doc, "s3:GetObject", res, _facts(source_ip="192.0.2.1")) is None
    assert policy.evaluate(doc, "s3:PutObject", res, _facts()) == "Deny"
    assert policy.evaluate(doc, "s3:PutObject", res, _facts(secure=True)) is None
    listing = f"arn:aws:s3:::{B}"
    assert (
        policy.evaluate(doc, "s3:ListBucket", listing, _facts(values={"s3:prefix": "home/a"}))
        == "Allow"
    )
    assert (
        policy.evaluate(doc, "s3:ListBucket", listing, _facts(values={"s3:prefix": "etc"})) is None
    )
    assert policy.evaluate(doc, "s3:ListBucket", listing, _facts()) is None  # key missing: no match


def test_negated_condition_holds_when_the_key_is_missing() -> None:
    doc = _doc(_st(Condition={"StringNotEquals": {"aws:Referer": "https://good.example"}}))
    res = f"arn:aws:s3:::{B}/k"
    assert policy.evaluate(doc, "s3:GetObject", res, _facts()) == "Allow"
    good = _facts(values={"aws:referer": "https://good.example"})
    assert policy.evaluate(doc, "s3:GetObject", res, good) is None


def test_actions_of_operations() -> None:
    assert policy.action_of("ListObjectsV2") == "s3:ListBucket"
    assert policy.action_of("HeadObject") == "s3:GetObject"
    assert policy.action_of("GetObject", version=True) == "s3:GetObjectVersion"
    assert policy.action_of("PutBucketTagging") == "s3:PutBucketTagging"

"""Bucket policies: Get/Put/DeleteBucketPolicy, and evaluating a policy for a request.

A policy is the AWS JSON document (``Statement`` items with ``Effect``,
``Principal``, ``Action`` / ``NotAction``, ``Resource`` / ``NotResource``
and a small set of ``Condition`` operators). It is validated when it is
put, so evaluation never meets a construct it cannot judge: an unknown
condition operator is refused (MalformedPolicy) rather than ignored, since
ignoring a condition could turn a narrow Deny into a wide one or the
reverse. Evaluation follows AWS: an explicit Deny wins, then an Allow, else
no opinion (ACLs and ownership decide).

Principals: ``"*"`` is everyone, anonymous included;
``arn:aws:iam::<project>:root`` (or just ``<project>``) every user of a
project; ``arn:aws:iam::<project>:user/<user>`` one user.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aiohttp import web

from s3compat import namespace
from s3compat.context import S3Context, empty
from s3compat.errors import S3Error

POLICY_KEY = "s3-policy"
MAX_POLICY = 4096  # one metadata value on the storage nodes

# AWS operation -> IAM action, where they differ from "s3:<operation>".
ACTIONS: dict[str, str] = {
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "HeadObject": "s3:GetObject",
    "CopyObject": "s3:PutObject",
    "PostObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "UploadPartCopy": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "ListParts": "s3:ListMultipartUploadParts",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads",
    "DeleteObjects": "s3:DeleteObject",
    "GetBucketCors": "s3:GetBucketCORS",
    "PutBucketCors": "s3:PutBucketCORS",
    "DeleteBucketCors": "s3:PutBucketCORS",
    "DeleteBucketTagging": "s3:PutBucketTagging",
    "GetObjectAttributes": "s3:GetObject",
    "DeleteBucket": "s3:DeleteBucket",
    "GetObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
    "PutObjectLockConfiguration": "s3:PutBucketObjectLockConfiguration",
    "GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "s3:PutLifecycleConfiguration",
}
POLICY_ACTIONS = frozenset({"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"})
_CONDITION_OPS = frozenset(
    {
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "Bool",
        "IpAddress",
        "NotIpAddress",
        "Null",
    }
)
_NEGATED = frozenset(
    {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "NotIpAddress"}
)


def action_of(op_name: str, *, version: bool = False) -> str:
    """The IAM action a request needs (``s3:GetObjectVersion`` for a versioned GET)."""
    action = ACTIONS.get(op_name, f"s3:{op_name}")
    if version and action in ("s3:GetObject", "s3:DeleteObject"):
        action += "Version"
    return action


def resource_arn(bucket: str, key: str | None = None) -> str:
    return f"arn:aws:s3:::{bucket}" if key is None else f"arn:aws:s3:::{bucket}/{key}"


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@lru_cache(maxsize=4096)
def _pattern(glob: str, case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(body, re.S if case else re.S | re.I)


def _glob(glob: str, value: str, *, case: bool = True) -> bool:
    """IAM wildcards: ``*`` any run of characters, ``?`` one character."""
    return _pattern(glob, case).fullmatch(value) is not None


@dataclass(frozen=True)
class RequestFacts:
    """What conditions and principals are matched against."""

    project: str | None
    user: str | None
    source_ip: str
    secure: bool
    values: Mapping[str, str]  # extra condition keys (lower-case), e.g. aws:referer


def _principal_matches(spec: Any, facts: RequestFacts) -> bool:
    if spec == "*":
        return True
    if not isinstance(spec, dict):
        return False
    for kind, names in spec.items():
        if kind != "AWS":
            continue
        for name in _listify(names):
            if name == "*":
                return True
            if facts.project is None:
                continue
            if name in (facts.project, f"arn:aws:iam::{facts.project}:root"):
                return True
            if name == f"arn:aws:iam::{facts.project}:user/{facts.user}":
                return True
    return False


def _condition_value(key: str, facts: RequestFacts) -> str | None:
    key = key.lower()
    if key == "aws:sourceip":
        return facts.source_ip
    if key == "aws:securetransport":
        return "true" if facts.secure else "false"
    if key == "aws:username":
        return facts.user
    return facts.values.get(key)


def _test(op: str, actual: str, wanted: str) -> bool:
    base = op[3:] if op.startswith("Not") and op != "Null" else op
    base = base.replace("StringNot", "String")
    if base in ("StringEquals",):
        return actual == wanted
    if base == "StringEqualsIgnoreCase":
        return actual.lower() == wanted.lower()
    if base == "StringLike":
        return _glob(wanted, actual)
    if base == "Bool":
        return actual.lower() == str(wanted).lower()
    if base == "IpAddress":
        try:
            return ipaddress.ip_address(actual) in ipaddress.ip_network(wanted, strict=False)
        except ValueError:
            return False
    return False


def _conditions_hold(conditions: Mapping[str, Any], facts: RequestFacts) -> bool:
    for op, tests in conditions.items():
        for key, wanted in tests.items():
            actual = _condition_value(key, facts)
            if op == "Null":
                if (actual is None) != (str(wanted).lower() == "true"):
                    return False
                continue
            if actual is None:
                if op in _NEGATED:
                    continue
                return False
            hit = any(_test(op, actual, str(w)) for w in _listify(wanted))
            if hit == (op in _NEGATED):
                return False
    return True


def _statement_applies(st: Mapping[str, Any], action: str, resource: str, f: RequestFacts) -> bool:
    if "Principal" in st and not _principal_matches(st["Principal"], f):
        return False
    if "Action" in st:
        if not any(_glob(a, action, case=False) for a in _listify(st["Action"])):
            return False
    elif any(_glob(a, action, case=False) for a in _listify(st.get("NotAction", []))):
        return False
    if "Resource" in st:
        if not any(_glob(r, resource) for r in _listify(st["Resource"])):
            return False
    elif any(_glob(r, resource) for r in _listify(st.get("NotResource", []))):
        return False
    return _conditions_hold(st.get("Condition", {}), f)


def evaluate(doc: Mapping[str, Any], action: str, resource: str, facts: RequestFacts) -> str | None:
    """``"Deny"``, ``"Allow"`` or None (the policy says nothing about this request)."""
    verdict = None
    for st in _listify(doc.get("Statement", [])):
        if _statement_applies(st, action, resource, facts):
            if st.get("Effect") == "Deny":
                return "Deny"
            verdict = "Allow"
    return verdict


@lru_cache(maxsize=1024)
def _parse_stored(text: str) -> Any:
    return json.loads(text)


def load(system: Mapping[str, str]) -> Mapping[str, Any] | None:
    text = system.get(POLICY_KEY)
    return _parse_stored(text) if text else None


def _malformed(msg: str) -> S3Error:
    return S3Error("MalformedPolicy", msg)


def validate(raw: bytes, bucket: str) -> str:
    """Check a policy document; return its compact form for storage."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _malformed("Policies must be valid JSON and the first byte must be '{'") from None
    if not isinstance(doc, dict) or "Statement" not in doc:
        raise _malformed("Missing required field Statement")
    statements = _listify(doc["Statement"])
    if not statements:
        raise _malformed("Could not parse the policy: Statement is empty!")
    for st in statements:
        _validate_statement(st, bucket)
    text = json.dumps(doc, separators=(",", ":"))
    if len(text.encode()) > MAX_POLICY:
        raise _malformed(f"Policies larger than {MAX_POLICY} bytes are not supported")
    return text


def _validate_statement(st: Any, bucket: str) -> None:
    if not isinstance(st, dict):
        raise _malformed("Statement must be an object")
    if st.get("Effect") not in ("Allow", "Deny"):
        raise _malformed("Invalid effect: " + str(st.get("Effect")))
    if "Principal" not in st:
        raise _malformed("Missing required field Principal")
    if "Action" not in st and "NotAction" not in st:
        raise _malformed("Missing required field Action")
    if "Resource" not in st and "NotResource" not in st:
        raise _malformed("Missing required field Resource")
    for res in _listify(st.get("Resource", st.get("NotResource"))):
        if not isinstance(res, str) or not (
            res == resource_arn(bucket) or res.startswith(resource_arn(bucket) + "/")
        ):
            raise _malformed("Policy has invalid resource")
    for action in _listify(st.get("Action", st.get("NotAction"))):
        if not isinstance(action, str) or not (action == "*" or action.lower().startswith("s3:")):
            raise _malformed("Policy has invalid action")
    cond = st.get("Condition", {})
    if not isinstance(cond, dict):
        raise _malformed("Condition must be an object")
    for op, tests in cond.items():
        if op not in _CONDITION_OPS:
            raise _malformed(f"Condition operator {op} is not supported by Stratus")
        if not isinstance(tests, dict):
            raise _malformed("Condition values must be objects")


async def handle_get_bucket_policy(ctx: S3Context) -> web.StreamResponse:
    assert ctx.bucket is not None
    text = ctx.bucket.system.get(POLICY_KEY)
    if not text:
        raise S3Error("NoSuchBucketPolicy", extra={"BucketName": ctx.bucket_name})
    return web.Response(body=text.encode(), content_type="application/json")


async def handle_put_bucket_policy(ctx: S3Context) -> web.StreamResponse:
    text = validate(await ctx.read_body(64 * 1024), ctx.bucket_name)
    await ctx.core.post_container(ctx.account, ctx.bucket_name, system={POLICY_KEY: text})
    await namespace.claim(ctx.core, ctx.bucket_name, ctx.account)
    return empty(204)


async def handle_delete_bucket_policy(ctx: S3Context) -> web.StreamResponse:
    await ctx.core.post_container(ctx.account, ctx.bucket_name, system={POLICY_KEY: ""})
    return empty(204)

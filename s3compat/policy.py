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

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aiohttp import web

from s3compat import access_state, namespace, system_text
from s3compat import policy_conditions as conditions
from s3compat.context import S3Context, empty
from s3compat.errors import S3Error

POLICY_KEY = "s3-policy"
MAX_POLICY = 20 * 1024  # AWS's limit, on the document without its whitespace
_POLICY_ELEMENTS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_ELEMENTS = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource",
     "Condition"}
)  # fmt: skip

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
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "DeleteBucketOwnershipControls": "s3:PutBucketOwnershipControls",
}
POLICY_ACTIONS = frozenset({"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"})
# Condition keys S3 defines (lower-case; ``s3:existingobjecttag/<key>`` and
# ``s3:requestobjecttag/<key>`` take any tag key). Any ``aws:`` key is accepted.
S3_CONDITION_KEYS = frozenset(
    k.lower()
    for k in (
        "s3:prefix",
        "s3:delimiter",
        "s3:max-keys",
        "s3:x-amz-acl",
        "s3:x-amz-grant-read",
        "s3:x-amz-grant-write",
        "s3:x-amz-grant-read-acp",
        "s3:x-amz-grant-write-acp",
        "s3:x-amz-grant-full-control",
        "s3:x-amz-copy-source",
        "s3:x-amz-metadata-directive",
        "s3:x-amz-server-side-encryption",
        "s3:x-amz-server-side-encryption-customer-algorithm",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "s3:x-amz-storage-class",
        "s3:x-amz-content-sha256",
        "s3:VersionId",
        "s3:RequestObjectTagKeys",
        "s3:object-lock-mode",
        "s3:object-lock-retain-until-date",
        "s3:object-lock-legal-hold",
        "s3:object-lock-remaining-retention-days",
        "s3:signatureversion",
        "s3:signatureAge",
        "s3:authType",
        "s3:ResourceAccount",
        "s3:TlsVersion",
        "s3:LocationConstraint",
        "s3:if-match",
        "s3:if-none-match",
    )
)
_TAG_KEYS = ("s3:existingobjecttag/", "s3:requestobjecttag/")
_VERSIONS = ("2012-10-17", "2008-10-17")
_PRINCIPAL_KINDS = frozenset({"AWS", "CanonicalUser"})


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


_glob = conditions.glob_match


@dataclass(frozen=True)
class RequestFacts:
    """What conditions and principals are matched against."""

    project: str | None
    user: str | None
    source_ip: str
    secure: bool
    values: Mapping[str, conditions.Value]  # condition keys (lower-case), e.g. aws:referer

    def lookup(self, key: str) -> conditions.Value | None:
        """A condition key's value for this request, None when the request has none."""
        key = key.lower()
        if key == "aws:sourceip":
            return self.source_ip or None
        if key == "aws:securetransport":
            return "true" if self.secure else "false"
        if key == "aws:username":
            return self.user
        if key in ("aws:principalaccount", "aws:userid") and self.project is not None:
            return self.project if key == "aws:principalaccount" else f"{self.project}:{self.user}"
        return self.values.get(key)


def _principal_names(spec: Any) -> list[str] | None:
    """The names a Principal block lists (None: ``"*"``, everyone)."""
    if spec == "*":
        return None
    names: list[str] = []
    for value in spec.values():
        names += [str(n) for n in _listify(value)]
    return None if "*" in names else names


def _principal_matches(spec: Any, facts: RequestFacts) -> bool:
    names = _principal_names(spec)
    if names is None:
        return True
    if facts.project is None:
        return False
    project, user = facts.project, facts.user
    mine = {project, f"arn:aws:iam::{project}:root", f"{project}:{user}"}
    mine.add(f"arn:aws:iam::{project}:user/{user}")
    return any(n in mine for n in names)


def _statement_applies(st: Mapping[str, Any], action: str, resource: str, f: RequestFacts) -> bool:
    if "Principal" in st and not _principal_matches(st["Principal"], f):
        return False
    if "NotPrincipal" in st and _principal_matches(st["NotPrincipal"], f):
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
    return conditions.holds(st.get("Condition", {}), f.lookup)


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


def text_of(system: Mapping[str, str]) -> str | None:
    """The bucket's policy as the owner sent it (503 while a replica lacks part of it)."""
    return system_text.text_of(system, POLICY_KEY)


def load(system: Mapping[str, str]) -> Mapping[str, Any] | None:
    """The bucket's policy, parsed (it is kept as the owner sent it)."""
    text = text_of(system)
    return _parse_stored(text) if text else None


def _malformed(msg: str) -> S3Error:
    return S3Error("MalformedPolicy", msg)


class _Duplicate(Exception):
    """A JSON object names one element twice."""


def _unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Refuse a name given twice in one object: the stored text (returned byte for byte)
    would show one value while a parser keeps the other (Python's and Go's: the last)."""
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            raise _Duplicate(name)
        out[name] = value
    return out


def validate(raw: bytes, bucket: str, known_project: Callable[[str], bool] | None = None) -> str:
    """Check a policy document; return it as sent, to be stored and returned byte for byte.

    ``known_project``: does a project named by a Principal exist (AWS refuses
    unknown principals)?
    """
    try:
        text = raw.decode("utf-8")
        doc = json.loads(text, object_pairs_hook=_unique_names)
    except _Duplicate as exc:
        raise _malformed(f"Duplicate field {exc}") from None
    except (ValueError, UnicodeDecodeError):
        raise _malformed("Policies must be valid JSON and the first byte must be '{'") from None
    compact = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    if len(compact.encode("utf-8")) > MAX_POLICY:
        raise _malformed("Policy exceeds the maximum allowed document size.")
    if not isinstance(doc, dict):
        raise _malformed("Policies must be valid JSON and the first byte must be '{'")
    _check_elements(doc, _POLICY_ELEMENTS)
    if "Statement" not in doc:
        raise _malformed("Missing required field Statement")
    if "Version" in doc and doc["Version"] not in _VERSIONS:
        raise _malformed("Invalid Version " + str(doc["Version"]))
    statements = _listify(doc["Statement"])
    if not statements:
        raise _malformed("Could not parse the policy: Statement is empty!")
    for st in statements:
        _validate_statement(st, bucket, known_project)
    return text


def _check_elements(doc: Mapping[str, Any], known: frozenset[str]) -> None:
    """AWS refuses an element it does not know (a misspelt one would be ignored)."""
    for name in doc:
        if name not in known:
            raise _malformed(f"Unknown field {name}")


def _check_condition_key(key: str) -> None:
    low = key.lower()
    if low.startswith("aws:") and len(low) > 4:
        return
    if low in S3_CONDITION_KEYS:
        return
    if any(low.startswith(p) and len(low) > len(p) for p in _TAG_KEYS):
        return
    raise _malformed("Policy has an invalid condition key")


def _principal_project(name: str) -> str | None:
    """The project a principal name belongs to (None: not a name Stratus knows)."""
    if name.startswith("arn:aws:iam::"):
        project, _, rest = name.removeprefix("arn:aws:iam::").partition(":")
        return project if rest == "root" or (rest.startswith("user/") and rest[5:]) else None
    project = name.partition(":")[0]
    return project if project and "/" not in name else None


def _validate_principal(spec: Any, known: Callable[[str], bool] | None) -> None:
    if spec == "*":
        return
    if not isinstance(spec, dict) or not spec:
        raise _malformed("Invalid principal in policy")
    for kind, names in spec.items():
        if kind not in _PRINCIPAL_KINDS:
            raise _malformed("Invalid principal in policy")
        for name in _listify(names):
            if name == "*":
                continue
            project = _principal_project(name) if isinstance(name, str) else None
            if project is None or (known is not None and not known(project)):
                raise _malformed("Invalid principal in policy")


def _validate_statement(st: Any, bucket: str, known: Callable[[str], bool] | None) -> None:
    if not isinstance(st, dict):
        raise _malformed("Statement must be an object")
    _check_elements(st, _STATEMENT_ELEMENTS)
    if st.get("Effect") not in ("Allow", "Deny"):
        raise _malformed("Invalid effect: " + str(st.get("Effect")))
    if ("Principal" in st) == ("NotPrincipal" in st):
        raise _malformed("Missing required field Principal")
    _validate_principal(st.get("Principal", st.get("NotPrincipal")), known)
    if ("Action" in st) == ("NotAction" in st):
        raise _malformed("Missing required field Action")
    if ("Resource" in st) == ("NotResource" in st):
        raise _malformed("Missing required field Resource")
    for res in _listify(st.get("Resource", st.get("NotResource"))):
        if not isinstance(res, str) or not (
            res == resource_arn(bucket) or res.startswith(resource_arn(bucket) + "/")
        ):
            raise _malformed("Policy has invalid resource")
    for action in _listify(st.get("Action", st.get("NotAction"))):
        if not isinstance(action, str) or not (action == "*" or action.lower().startswith("s3:")):
            raise _malformed("Policy has invalid action")
    conditions.validate_block(st.get("Condition", {}), _check_condition_key)


# Condition keys that tie an Allow to fixed callers, so that it is not public
# (AWS's "The meaning of public"; aws:SourceIp counts unless it is every address).
_FIXING_KEYS = frozenset(
    {
        "aws:sourcearn",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceowner",
        "aws:sourceaccount",
        "aws:principalaccount",
        "aws:principalorgid",
        "aws:userid",
        "aws:username",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "s3:resourceaccount",
    }
)


def _fixes_callers(cond: Mapping[str, Any]) -> bool:
    for name, tests in cond.items():
        op = conditions.parse_operator(name)
        if op.negated or op.if_exists or op.quantifier == "ForAllValues":
            continue
        for key, wanted in tests.items():
            values = [str(v) for v in _listify(wanted)]
            low = key.lower()
            if low == "aws:sourceip" and op.base == "IpAddress":
                if all(not v.endswith("/0") for v in values):
                    return True
            elif (
                low in _FIXING_KEYS
                and op.test in ("eq", "ieq", "like")
                and all("*" not in v and "?" not in v for v in values)
            ):
                return True
    return False


def is_public(doc: Mapping[str, Any]) -> bool:
    """Does the policy let anyone at all in (AWS's test for Block Public Access)?

    An Allow whose principal is everyone (``*``, a wildcard, or a
    NotPrincipal) is public unless a condition ties it to fixed callers.
    """
    for st in _listify(doc.get("Statement", [])):
        if st.get("Effect") != "Allow":
            continue
        if "NotPrincipal" not in st and _principal_names(st.get("Principal")) is not None:
            continue
        if not _fixes_callers(st.get("Condition", {})):
            return True
    return False


async def handle_get_bucket_policy(ctx: S3Context) -> web.StreamResponse:
    assert ctx.bucket is not None
    text = text_of(ctx.bucket.system)
    if not text:
        raise S3Error("NoSuchBucketPolicy", extra={"BucketName": ctx.bucket_name})
    return web.Response(body=text.encode(), content_type="application/json")


def _project_exists(ctx: S3Context) -> Callable[[str], bool]:
    def known(project: str) -> bool:
        try:
            ctx.identity.get_project(project)
        except Exception:  # NotFound, or a name the store refuses
            return False
        return True

    return known


async def handle_put_bucket_policy(ctx: S3Context) -> web.StreamResponse:
    text = validate(await ctx.read_body(64 * 1024), ctx.bucket_name, _project_exists(ctx))
    assert ctx.bucket is not None
    blocks = access_state.public_access_block(ctx.bucket.system)
    if blocks.block_public_policy and is_public(json.loads(text)):
        raise S3Error("AccessDenied")
    await system_text.write(
        ctx.core, ctx.account, ctx.bucket_name, POLICY_KEY, text, ctx.bucket.system
    )
    await namespace.claim(ctx.core, ctx.bucket_name, ctx.account)
    return empty(204)


async def handle_delete_bucket_policy(ctx: S3Context) -> web.StreamResponse:
    assert ctx.bucket is not None
    system = ctx.bucket.system
    await system_text.write(ctx.core, ctx.account, ctx.bucket_name, POLICY_KEY, "", system)
    return empty(204)

"""Fuzz: the bucket configuration bodies and bucket policies, signed by the project's admin.

test_fuzz_requests.py signs as a member, who since only ``admin`` manages
access gets AccessDenied before the ACL and policy parsers run; and the
configuration documents added later (lifecycle, default encryption, object
ownership, public access blocks, Object Lock, retention, legal holds) had no
fuzz at all. Here every such body is sent by ``ada`` (role admin), so the
parser behind the authorization is what answers. A bucket policy that is
accepted is then put to work: a read by another project and an anonymous read
are judged by it (conditions included), which must not crash either.

The answer is a success or an S3 XML error with a 4xx status, never a 5xx.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import re
from typing import Any

import pytest
from hypothesis import currently_in_test_context, event, given
from hypothesis import strategies as st

from tests.functional.s3compat.conftest import S3Cluster
from tests.functional.s3compat.test_fuzz_requests import (
    GRANT,
    PERMISSION,
    fill,
    request,
)
from tests.functional.s3compat.test_fuzz_requests import s3_answer as _s3_answer
from tests.helpers.fuzz import budget, mutated_json
from tests.helpers.xmlfuzz import NUMBER, TEXT, document, render

DATE = st.sampled_from(
    ["2030-01-01T00:00:00Z", "2030-01-01T00:00:00.000Z", "9999-12-31T23:59:59-23:59",
     "0001-01-01T00:00:00+23:59", "2030-13-01T00:00:00Z", "20300101", "٢٠٣٠-01-01T00:00:00Z"]
) | TEXT  # fmt: skip
FILTER = {
    "Prefix": TEXT,
    "Tag": {"Key": TEXT, "Value": TEXT},
    "ObjectSizeGreaterThan": NUMBER,
    "ObjectSizeLessThan": NUMBER,
    "And": {"Prefix": TEXT, "Tag": {"Key": TEXT, "Value": TEXT}, "ObjectSizeGreaterThan": NUMBER},
}
RULE = {
    "ID": TEXT,
    "Status": st.sampled_from(["Enabled", "Disabled"]) | TEXT,
    "Filter": FILTER,
    "Prefix": TEXT,
    "Expiration": {"Days": NUMBER, "Date": DATE, "ExpiredObjectDeleteMarker": TEXT},
    "NoncurrentVersionExpiration": {"NoncurrentDays": NUMBER, "NewerNoncurrentVersions": NUMBER},
    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": NUMBER},
}
Node = tuple[str, str, list[Any]]


def often(usual: list[str], odd: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """One of ``usual`` nine times in ten, else ``odd`` (``a | b`` would be half and half)."""
    return st.integers(0, 9).flatmap(lambda i: odd if i == 0 else st.sampled_from(usual))


ODD_DAYS = st.sampled_from(["0", "-1", "²", "9" * 400, " 7 ", ""]) | st.integers(-2, 2**64).map(str)
DAYS = often(["1", "30", "365"], ODD_DAYS)


@st.composite
def lifecycle_rules(draw: st.DrawFn) -> bytes:
    """Lifecycle documents that mostly follow the schema (one filter, one expiration), values
    fuzzed, so the checks behind the shape are reached (``document`` almost never gets there)."""

    def leaf(tag: str, value: st.SearchStrategy[str]) -> Node:
        return (tag, draw(value), [])

    def tag() -> Node:
        return ("Tag", "", [leaf("Key", TEXT), leaf("Value", TEXT)])

    rules: list[Node] = []
    for _ in range(draw(st.integers(1, 3))):
        kids: list[Node] = [
            leaf("ID", often(["r1", "rule-2", ""], TEXT)),
            leaf("Status", often(["Enabled", "Enabled", "Disabled"], TEXT)),
        ]
        which = draw(st.sampled_from(["prefix", "tag", "and", "size", "empty", "legacy"]))
        if which == "legacy":
            kids.append(leaf("Prefix", TEXT))
        else:
            inner: list[Node] = {
                "prefix": lambda: [leaf("Prefix", TEXT)],
                "tag": lambda: [tag()],
                "size": lambda: [leaf("ObjectSizeGreaterThan", DAYS)],
                "and": lambda: [
                    (
                        "And",
                        "",
                        [leaf("Prefix", TEXT), tag(), tag(), leaf("ObjectSizeLessThan", DAYS)],
                    )
                ],
                "empty": lambda: [],
            }[which]()
            kids.append(("Filter", "", inner))
        expiration = draw(st.sampled_from(["days", "date", "marker", None]))
        others = draw(st.lists(st.sampled_from(["noncurrent", "abort"]), unique=True, max_size=2))
        for action in [expiration, *others] if expiration else others or ["abort"]:
            kids.append({
                "days": lambda: ("Expiration", "", [leaf("Days", DAYS)]),
                "date": lambda: ("Expiration", "", [leaf("Date", DATE)]),
                "marker": lambda: ("Expiration", "", [leaf("ExpiredObjectDeleteMarker",
                                                           often(["true", "false"], TEXT))]),
                "noncurrent": lambda: ("NoncurrentVersionExpiration", "",
                                       [leaf("NoncurrentDays", DAYS),
                                        leaf("NewerNoncurrentVersions", DAYS)]),
                "abort": lambda: ("AbortIncompleteMultipartUpload", "",
                                  [leaf("DaysAfterInitiation", DAYS)]),
            }[action]())  # fmt: skip
        rules.append(("Rule", "", kids))
    return render("LifecycleConfiguration", rules, draw(st.booleans()))


MODE = st.sampled_from(["GOVERNANCE", "COMPLIANCE"]) | TEXT
# (method, path, query, root, names, shape); {b} a plain bucket, {a} one for ACLs (never
# BucketOwnerEnforced), {l} one with Object Lock
BODIES: list[tuple[str, str, str, str, list[str], dict[str, Any]]] = [
    ("PUT", "/{b}", "lifecycle", "LifecycleConfiguration",
     ["Rule", *RULE, *FILTER, "Key", "Value", "Days", "Date"], {"Rule": RULE}),
    ("PUT", "/{b}", "encryption", "ServerSideEncryptionConfiguration",
     ["Rule", "ApplyServerSideEncryptionByDefault", "SSEAlgorithm", "KMSMasterKeyID",
      "BucketKeyEnabled"],
     {"Rule": {"ApplyServerSideEncryptionByDefault": {
         "SSEAlgorithm": st.sampled_from(["AES256", "aws:kms"]) | TEXT, "KMSMasterKeyID": TEXT},
         "BucketKeyEnabled": TEXT}}),
    ("PUT", "/{b}", "ownershipControls", "OwnershipControls", ["Rule", "ObjectOwnership"],
     {"Rule": {"ObjectOwnership": st.sampled_from(
         ["BucketOwnerPreferred", "ObjectWriter", "BucketOwnerEnforced"]) | TEXT}}),
    ("PUT", "/{b}", "publicAccessBlock", "PublicAccessBlockConfiguration",
     ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"],
     dict.fromkeys(["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                    "RestrictPublicBuckets"], st.sampled_from(["true", "false"]) | TEXT)),
    ("PUT", "/{a}", "acl", "AccessControlPolicy",
     ["Owner", "ID", "AccessControlList", "Grant", "Grantee", "URI", "Permission"],
     {"Owner": {"ID": TEXT}, "AccessControlList": {"Grant": GRANT}}),
    ("PUT", "/{a}/obj", "acl", "AccessControlPolicy", ["AccessControlList", "Grant", "Permission"],
     {"AccessControlList": {"Grant": {"Grantee": GRANT["Grantee"], "Permission": PERMISSION}}}),
    ("PUT", "/{l}", "object-lock", "ObjectLockConfiguration",
     ["ObjectLockEnabled", "Rule", "DefaultRetention", "Mode", "Days", "Years"],
     {"ObjectLockEnabled": st.sampled_from(["Enabled"]) | TEXT,
      "Rule": {"DefaultRetention": {"Mode": MODE, "Days": NUMBER, "Years": NUMBER}}}),
    ("PUT", "/{l}/obj", "retention", "Retention", ["Mode", "RetainUntilDate"],
     {"Mode": MODE, "RetainUntilDate": DATE}),
    ("PUT", "/{l}/obj", "legal-hold", "LegalHold", ["Status"],
     {"Status": st.sampled_from(["ON", "OFF"]) | TEXT}),
]  # fmt: skip


def s3_answer(status: int, reply: bytes, what: Any, label: str) -> None:
    """A success or a 4xx S3 error; 501 only as S3's NotImplemented (``aws:kms``: no KMS).

    ``label`` names the request in hypothesis' statistics (``--hypothesis-show-statistics``
    shows how many answers were successes, so how deep the fuzz got)."""
    code = re.search(rb"<Code>([^<]*)</Code>", reply)
    if currently_in_test_context():
        event(f"{label}: {status} {code[1].decode() if code else ''}")
    if status == 501:
        assert b"<Code>NotImplemented</Code>" in reply, (what, reply[:400])
        return
    _s3_answer(status, reply, what)


def policy_template(bucket: str) -> dict[str, Any]:
    """A valid policy with the parts a fuzzer should reach: principals, actions, conditions."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "s",
                "Effect": "Allow",
                "Principal": {"AWS": ["arn:aws:iam::beta:root", "arn:aws:iam::beta:user/bob"]},
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {
                    "IpAddress": {"aws:SourceIp": ["127.0.0.0/8"]},
                    "StringLike": {"s3:prefix": "o*"},
                    "NumericLessThanEquals": {"s3:max-keys": "10"},
                    "DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
                    "Bool": {"aws:SecureTransport": "false"},
                },
            },
            {
                "Effect": "Deny",
                "NotPrincipal": {"AWS": "arn:aws:iam::alpha:root"},
                "NotAction": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            },
        ],
    }


CONDITION_KEYS = ["aws:SourceIp", "aws:CurrentTime", "aws:EpochTime", "aws:SecureTransport",
                  "aws:username", "aws:userid", "aws:Referer", "aws:UserAgent", "aws:PrincipalArn",
                  "s3:prefix", "s3:max-keys", "s3:delimiter", "s3:x-amz-acl", "s3:VersionId",
                  "s3:ExistingObjectTag/k", "s3:RequestObjectTag/k", "s3:RequestObjectTagKeys",
                  "s3:signatureversion", "s3:authType", "s3:x-amz-server-side-encryption",
                  "s3:object-lock-mode"]  # fmt: skip
# each operator base with values of its own kind (mostly), so many policies are accepted
# and then judged; the odd value, key and operator now and then
KIND_VALUES = {
    "String": ["o*", "*", "?", "[", "\\", "${aws:username}", "${*}", "${", "${?}${$}", "bob",
               "AWS4-HMAC-SHA256", "REST-HEADER", "public-read", "AES256", "", "é"],
    "Numeric": ["0", "5", "10", "-0", "1e3", "9" * 400, "1.5", "nan", "²"],
    "Date": ["2020-01-01T00:00:00Z", "2099-01-01T00:00:00.000Z", "9999-12-31T23:59:59-23:59",
             "0001-01-01T00:00:00+23:59", "1700000000", "9" * 30, "2020-02-30T00:00:00Z"],
    "Bool": ["true", "false", "TRUE", "yes"],
    "Ip": ["127.0.0.1/32", "127.0.0.0/8", "::1/128", "::/0", "10.0.0.0/33", "1.2.3.4",
           "0.0.0.0/0", "::ffff:127.0.0.1/128", "1.2.3.4/-1"],
    "Arn": ["arn:aws:iam::beta:user/*", "arn:aws:iam::*:root", "arn:*", "*"],
    "Binary": ["dGVzdA==", "not base64", ""],
    "Null": ["true", "false"],
}  # fmt: skip
OPERATOR_BASES = {
    "StringEquals": "String", "StringNotEquals": "String", "StringEqualsIgnoreCase": "String",
    "StringLike": "String", "StringNotLike": "String", "NumericEquals": "Numeric",
    "NumericLessThan": "Numeric", "NumericGreaterThanEquals": "Numeric", "DateEquals": "Date",
    "DateLessThan": "Date", "DateGreaterThan": "Date", "Bool": "Bool", "IpAddress": "Ip",
    "NotIpAddress": "Ip", "ArnLike": "Arn", "ArnNotEquals": "Arn", "BinaryEquals": "Binary",
    "Null": "Null",
}  # fmt: skip
RARELY = 0.1  # how often an odd part (unknown operator, key, principal...) is drawn


def mostly(draw: st.DrawFn, usual: list[Any], odd: st.SearchStrategy[Any]) -> Any:
    """One of ``usual``, or (one time in ten) a draw of ``odd``."""
    if draw(st.integers(0, 99)) < RARELY * 100:
        return draw(odd)
    return draw(st.sampled_from(usual))


@st.composite
def policies(draw: st.DrawFn, bucket: str) -> bytes:
    """Mostly valid policies whose conditions, principals and actions are fuzzed."""
    principals = ["*", {"AWS": "*"}, {"AWS": "arn:aws:iam::beta:root"},
                  {"AWS": ["beta", "arn:aws:iam::beta:user/bob"]}]  # fmt: skip
    odd_principals = st.sampled_from(
        [{"AWS": "arn:aws:iam::nosuch:root"}, {"CanonicalUser": "beta"}, {"Service": "x"}, {}]
    )
    actions = ["s3:GetObject", "s3:ListBucket", "s3:PutObject", "s3:*", "s3:Get*", "*",
               "s3:GetObjectTagging", "s3:PutObjectTagging", "s3:DeleteObject"]  # fmt: skip
    resources = [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*", f"arn:aws:s3:::{bucket}/o*"]
    statements = []
    for _ in range(draw(st.integers(1, 2))):
        statement: dict[str, Any] = {
            "Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"])),
            "Principal": mostly(draw, principals, odd_principals),
            "Action": [mostly(draw, actions, TEXT) for _ in range(draw(st.integers(1, 3)))],
            "Resource": [mostly(draw, resources, TEXT) for _ in range(draw(st.integers(1, 2)))],
        }
        conditions: dict[str, Any] = {}
        for _ in range(draw(st.integers(0, 3))):
            base = draw(st.sampled_from(sorted(OPERATOR_BASES)))
            kind = KIND_VALUES[OPERATOR_BASES[base]]
            prefix = "" if base == "Null" else draw(st.sampled_from(["", "", "ForAnyValue:",
                                                                     "ForAllValues:"]))  # fmt: skip
            suffix = "" if base == "Null" else draw(st.sampled_from(["", "", "IfExists"]))
            operator = mostly(draw, [prefix + base + suffix], TEXT)
            values = [mostly(draw, kind, TEXT) for _ in range(draw(st.integers(1, 3)))]
            key = mostly(draw, CONDITION_KEYS, TEXT)
            conditions.setdefault(operator, {})[key] = values[0] if len(values) == 1 else values
        if conditions:
            statement["Condition"] = conditions
        statements.append(statement)
    return json.dumps({"Version": "2012-10-17", "Statement": statements}).encode()


@pytest.fixture(scope="module")
def config_buckets(s3_cluster: S3Cluster) -> dict[str, str]:
    ada = s3_cluster.client("ada")
    names = {"b": "fuzz-config", "a": "fuzz-acl", "l": "fuzz-lock", "p": "fuzz-policy"}
    for name in names.values():
        kw = {"ObjectLockEnabledForBucket": True} if name == "fuzz-lock" else {}
        ada.create_bucket(Bucket=name, **kw)
        ada.put_object(Bucket=name, Key="obj", Body=b"hello")
    return names


def as_admin(cluster: S3Cluster, method: str, path: str, query: str, body: bytes) -> Any:
    extra = {"content-md5": base64.b64encode(hashlib.md5(body).digest()).decode()}
    return request(cluster, method, path, query, body, extra, user="ada")


@pytest.mark.parametrize("which", range(len(BODIES)), ids=[b[2] for b in BODIES])
@budget(8)
@given(data=st.data())
def test_fuzz_configuration_bodies(
    s3_cluster: S3Cluster, config_buckets: dict[str, str], data: st.DataObject, which: int
) -> None:
    method, path, query, root, names, shape = BODIES[which]
    shaped = root == "LifecycleConfiguration" and data.draw(st.booleans())
    body = data.draw(lifecycle_rules() if shaped else document(root, names, shape))
    path = fill(path, config_buckets)
    status, reply = as_admin(s3_cluster, method, path, query, body)
    s3_answer(status, reply, (method, path, query, body[:300]), query)


# The values that broke number and date parsers before, each in every numeric and date field
# of a valid document: a sweep that runs whole in CI, where the random budget is small.
SWEEP_VALUES = ["²", "١٢", "𝟗", "9" * 4301, "0" * 5000 + "1", " 7 ", "1_0", "0x10", "1e3", "-1",
                "", "\t", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59",
                "2030-02-30T00:00:00Z", "٢٠٣٠-01-01T00:00:00Z",
                "+002030-01-01T00:00:00Z"]  # fmt: skip
SWEEP_DOCS = [
    ("PUT", "/{b}", "lifecycle", "<LifecycleConfiguration><Rule><ID>r</ID><Filter/>"
     "<Status>Enabled</Status><Expiration><Days>{v}</Days></Expiration>"
     "<NoncurrentVersionExpiration><NoncurrentDays>{v}</NoncurrentDays>"
     "<NewerNoncurrentVersions>{v}</NewerNoncurrentVersions></NoncurrentVersionExpiration>"
     "</Rule></LifecycleConfiguration>"),
    ("PUT", "/{b}", "lifecycle", "<LifecycleConfiguration><Rule><ID>r</ID><Filter><And>"
     "<ObjectSizeGreaterThan>{v}</ObjectSizeGreaterThan><ObjectSizeLessThan>{v}"
     "</ObjectSizeLessThan></And></Filter><Status>Enabled</Status><Expiration><Date>{v}</Date>"
     "</Expiration></Rule></LifecycleConfiguration>"),
    ("PUT", "/{b}", "lifecycle", "<LifecycleConfiguration><Rule><ID>r</ID><Prefix/>"
     "<Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>{v}"
     "</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>"),
    ("PUT", "/{l}", "object-lock", "<ObjectLockConfiguration><ObjectLockEnabled>Enabled"
     "</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>{v}</Days>"
     "</DefaultRetention></Rule></ObjectLockConfiguration>"),
    ("PUT", "/{l}", "object-lock", "<ObjectLockConfiguration><ObjectLockEnabled>Enabled"
     "</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Years>{v}</Years>"
     "</DefaultRetention></Rule></ObjectLockConfiguration>"),
    ("PUT", "/{l}/obj", "retention", "<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>{v}"
     "</RetainUntilDate></Retention>"),
]  # fmt: skip


@pytest.mark.parametrize("doc", range(len(SWEEP_DOCS)))
def test_tricky_values_in_every_number_and_date_field(
    s3_cluster: S3Cluster, config_buckets: dict[str, str], doc: int
) -> None:
    method, path, query, template = SWEEP_DOCS[doc]
    for value in SWEEP_VALUES:
        body = template.replace("{v}", value).encode()
        status, reply = as_admin(s3_cluster, method, fill(path, config_buckets), query, body)
        s3_answer(status, reply, (method, path, query, value), query)
    assert as_admin(s3_cluster, "DELETE", fill("/{b}", config_buckets), "lifecycle", b"")[0] == 204


def _anonymous_get(cluster: S3Cluster, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@budget(60)
@given(data=st.data())
def test_fuzz_bucket_policies_and_their_evaluation(
    s3_cluster: S3Cluster, config_buckets: dict[str, str], data: st.DataObject
) -> None:
    bucket = config_buckets["p"]
    body = data.draw(
        st.sampled_from([0, 0, 1]).flatmap(
            lambda i: policies(bucket) if i == 0 else mutated_json(policy_template(bucket))
        )
    )
    status, reply = as_admin(s3_cluster, "PUT", f"/{bucket}", "policy", body)
    s3_answer(status, reply, ("PutBucketPolicy", body[:400]), "policy")
    if status >= 300:
        assert b"<Code>" in reply
        return
    stored = json.loads(body)  # what was accepted is what is evaluated
    for who, method, path, query, headers in (
        ("bob", "GET", f"/{bucket}/obj", "", {}),
        ("bob", "GET", f"/{bucket}", "list-type=2&prefix=o&max-keys=5&delimiter=/", {}),
        ("bob", "PUT", f"/{bucket}/new", "", {"x-amz-acl": "private", "x-amz-tagging": "k=v"}),
        ("alice", "GET", f"/{bucket}/obj", "tagging", {}),
    ):
        status, reply = request(s3_cluster, method, path, query, b"", headers, user=who)
        s3_answer(status, reply, (who, path, stored), f"{who} reads")
    status, reply = _anonymous_get(s3_cluster, f"/{bucket}/obj")
    s3_answer(status, reply, ("anonymous", stored), "anonymous reads")
    assert as_admin(s3_cluster, "DELETE", f"/{bucket}", "policy", b"")[0] == 204

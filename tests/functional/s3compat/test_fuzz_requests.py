"""Fuzz: signed S3 requests with fuzzed XML bodies, query values and headers, on loopback.

Every operation that takes an XML body (tagging, ACLs, CORS, versioning,
DeleteObjects, CompleteMultipartUpload, CreateBucket's configuration) gets
documents that follow its schema with fuzzed values, or random trees, or
mangled bytes; reads get fuzzed numeric query parameters and headers. Each
request is correctly signed (SigV4, by the independent test signer), so
the fuzzed part is what the server parses after authentication. The
answer is a success or an S3 XML error with a 4xx status, never a 5xx.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.functional.s3compat import rawsign
from tests.functional.s3compat.conftest import S3Cluster
from tests.helpers.fuzz import budget
from tests.helpers.xmlfuzz import CORS_NAMES, CORS_SHAPE, NUMBER, NUMBERS, TEXT, document

GROUPS = "http://acs.amazonaws.com/groups/global/"
GRANTEE = {
    "ID": TEXT,
    "URI": st.sampled_from([GROUPS + "AllUsers", GROUPS + "AuthenticatedUsers"]) | TEXT,
}
PERMISSION = st.sampled_from(["READ", "WRITE", "FULL_CONTROL"]) | TEXT
GRANT = {"Grantee": GRANTEE, "Permission": PERMISSION}
# (method, path, query, root, names, shape)
BODIES: list[tuple[str, str, str, str, list[str], dict[str, Any]]] = [
    ("PUT", "/{b}", "tagging", "Tagging", ["TagSet", "Tag", "Key", "Value"],
     {"TagSet": {"Tag": {"Key": TEXT, "Value": TEXT}}}),
    ("PUT", "/{b}/obj", "tagging", "Tagging", ["TagSet", "Tag", "Key", "Value"],
     {"TagSet": {"Tag": {"Key": TEXT, "Value": TEXT}}}),
    ("PUT", "/{b}", "acl", "AccessControlPolicy",
     ["Owner", "ID", "AccessControlList", "Grant", "Grantee", "URI", "Permission"],
     {"Owner": {"ID": TEXT}, "AccessControlList": {"Grant": GRANT}}),
    ("PUT", "/{b}/obj", "acl", "AccessControlPolicy", ["AccessControlList", "Grant", "Permission"],
     {"AccessControlList": {"Grant": {"Grantee": GRANTEE, "Permission": TEXT}}}),
    ("PUT", "/{b}", "cors", "CORSConfiguration", CORS_NAMES,
     CORS_SHAPE),
    ("PUT", "/{b}", "versioning", "VersioningConfiguration", ["Status", "MfaDelete"],
     {"Status": st.sampled_from(["Enabled", "Suspended"]) | TEXT, "MfaDelete": TEXT}),
    ("POST", "/{b}", "delete", "Delete", ["Object", "Key", "VersionId", "Quiet"],
     {"Quiet": TEXT, "Object": {"Key": TEXT, "VersionId": TEXT}}),
    ("POST", "/{b}/mpu", "uploadId={u}", "CompleteMultipartUpload",
     ["Part", "PartNumber", "ETag"], {"Part": {"PartNumber": NUMBER, "ETag": TEXT}}),
    ("PUT", "/{b}-new", "", "CreateBucketConfiguration", ["LocationConstraint"],
     {"LocationConstraint": st.sampled_from(["us-east-1", "EU", ""]) | TEXT}),
]  # fmt: skip
QUERIES = [("GET", "/{b}", "list-type=2&max-keys={n}"), ("GET", "/{b}", "max-keys={n}"),
           ("GET", "/{b}/obj", "partNumber={n}"), ("GET", "/{b}", "uploads&max-uploads={n}"),
           ("GET", "/{b}/mpu", "uploadId={u}&max-parts={n}&part-number-marker=1"),
           ("GET", "/{b}", "versions&max-keys={n}"), ("GET", "/{b}/obj", "attributes")]  # fmt: skip
HEADERS = ["range", "x-amz-max-parts", "x-amz-part-number-marker", "x-amz-object-attributes",
           "if-modified-since", "if-match", "x-amz-tagging", "x-amz-copy-source-range"]  # fmt: skip


def request(
    cluster: S3Cluster,
    method: str,
    path: str,
    query: str,
    body: bytes,
    extra: dict[str, str],
    encoding: str = "utf-8",
    user: str = "alice",
) -> tuple[int, bytes]:
    alice = cluster.users[user]
    host = f"127.0.0.1:{cluster.port}"
    pairs = [(k, v) for k, _, v in (p.partition("=") for p in query.split("&") if p)]
    signed = rawsign.sign(method, host, path, alice.access, alice.secret, headers=extra,
                          payload_hash=hashlib.sha256(body).hexdigest(), query=pairs)  # fmt: skip
    target = (
        quote(path, safe="/-_.~")
        + "?"
        + "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)
    )
    conn = http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=30)
    try:
        sent = {k: v.encode(encoding) for k, v in signed.headers.items()}
        conn.request(method, target, body=body, headers=sent)  # values as bytes
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def fuzz_bucket(s3_cluster: S3Cluster) -> dict[str, str]:
    s3 = s3_cluster.client("alice")
    s3.create_bucket(Bucket="fuzz-bucket")
    s3.put_object(Bucket="fuzz-bucket", Key="obj", Body=b"hello")
    uid = s3.create_multipart_upload(Bucket="fuzz-bucket", Key="mpu")["UploadId"]
    s3.upload_part(Bucket="fuzz-bucket", Key="mpu", UploadId=uid, PartNumber=1, Body=b"p")
    return {"b": "fuzz-bucket", "u": uid}


def fill(text: str, names: dict[str, str]) -> str:
    for k, v in names.items():
        text = text.replace("{" + k + "}", v)
    return text


def s3_answer(status: int, reply: bytes, what: Any) -> None:
    assert status < 500, (what, reply[:400])
    if status >= 400 and reply:
        assert reply.startswith(b"<?xml") and b"<Code>" in reply, reply[:200]


@budget(50)
@given(data=st.data(), which=st.integers(0, len(BODIES) - 1))
def test_fuzz_xml_bodies(
    s3_cluster: S3Cluster, fuzz_bucket: dict[str, str], data: st.DataObject, which: int
) -> None:
    method, path, query, root, names, shape = BODIES[which]
    body = data.draw(document(root, names, shape))
    extra = {"content-md5": base64.b64encode(hashlib.md5(body).digest()).decode()}
    path, query = fill(path, fuzz_bucket), fill(query, fuzz_bucket)
    status, reply = request(s3_cluster, method, path, query, body, extra)
    s3_answer(status, reply, (method, path, query, body[:300]))


@budget(80)
@given(
    which=st.integers(0, len(QUERIES) - 1),
    n=st.integers(0, 3).flatmap(
        lambda i: st.integers(-5, 2**70).map(str) if i == 0 else st.sampled_from(NUMBERS)
    ),
    headers=st.dictionaries(
        st.sampled_from(HEADERS),
        st.sampled_from([*NUMBERS, "bytes=0-1", "bytes=-9" + "9" * 70, "ETag,Checksum"]) | TEXT,
        max_size=2,
    ),
)
def test_fuzz_queries_and_headers(
    s3_cluster: S3Cluster, fuzz_bucket: dict[str, str], which: int, n: str, headers: dict[str, str]
) -> None:
    method, path, query = QUERIES[which]
    query = fill(query, {**fuzz_bucket, "n": n})
    headers = {k: v for k, v in headers.items() if v.isprintable() and v.strip() == v and v}
    status, reply = request(s3_cluster, method, fill(path, fuzz_bucket), query, b"", headers)
    s3_answer(status, reply, (method, path, query, headers))


def test_header_bytes_that_are_not_utf8_are_a_signature_mismatch(
    s3_cluster: S3Cluster, fuzz_bucket: dict[str, str]
) -> None:
    """A signed header sent as Latin-1: the server hashes the bytes it got (once a 500)."""
    note = {"x-amz-meta-note": "caf\u00e9 \u00b2"}
    status, reply = request(s3_cluster, "GET", "/fuzz-bucket/obj", "", b"", note, "latin-1")
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in reply, reply[:300]

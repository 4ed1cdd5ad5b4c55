"""Request checks AWS makes before the operation, in AWS's words (as Swift's boto3
suite asserts them against AWS): a header-signed SigV4 request's
``x-amz-content-sha256`` is judged before MethodNotAllowed (missing: 400
InvalidRequest; neither a payload mode nor a digest: 400 InvalidArgument;
``test_head_service_no_sha`` / ``_invalid_sha``), and a streaming upload without a
decoded length is MissingContentLength with AWS's message.
"""

from __future__ import annotations

from xml.etree import ElementTree

from tests.functional.s3compat import rawsign
from tests.functional.s3compat.conftest import S3Cluster


def _send(cluster: S3Cluster, method: str, sha: str | None) -> tuple[int, bytes]:
    alice = cluster.users["alice"]
    host = f"127.0.0.1:{cluster.port}"
    signed = rawsign.sign(method, host, "/", alice.access, alice.secret, payload_hash=sha or "")
    headers = dict(signed.headers)
    if sha is None:
        del headers["x-amz-content-sha256"]
    status, _headers, body = rawsign.send(cluster.port, method, "/", headers)
    return status, body


def test_payload_hash_is_judged_before_the_method(s3_cluster: S3Cluster) -> None:
    assert _send(s3_cluster, "HEAD", None)[0] == 400
    assert _send(s3_cluster, "HEAD", "invalid")[0] == 400
    assert _send(s3_cluster, "HEAD", rawsign.EMPTY)[0] == 405
    assert _send(s3_cluster, "HEAD", "UNSIGNED-PAYLOAD")[0] == 405
    status, body = _send(s3_cluster, "DELETE", None)
    root = ElementTree.fromstring(body)
    assert (status, root.findtext("Code"), root.findtext("Message")) == (
        400,
        "InvalidRequest",
        "Missing required header for this request: x-amz-content-sha256",
    )
    status, body = _send(s3_cluster, "DELETE", "invalid")
    assert (status, ElementTree.fromstring(body).findtext("Code")) == (400, "InvalidArgument")
    status, body = _send(s3_cluster, "DELETE", rawsign.EMPTY)
    assert (status, ElementTree.fromstring(body).findtext("Code")) == (405, "MethodNotAllowed")


def test_streaming_without_a_decoded_length(s3_cluster: S3Cluster, bucket: str) -> None:
    """AWS answers MissingContentLength in its own words when x-amz-decoded-content-length
    is missing or not a number (Swift's suite: test_no_md5_streaming_unsigned_*)."""
    alice = s3_cluster.users["alice"]
    host = f"127.0.0.1:{s3_cluster.port}"
    for extra in ({}, {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": "x"}):
        signed = rawsign.sign(
            "PUT",
            host,
            f"/{bucket}/k",
            alice.access,
            alice.secret,
            headers=extra,
            payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        )
        status, _h, body = rawsign.send(
            s3_cluster.port, "PUT", f"/{bucket}/k", signed.headers, b"hi"
        )
        root = ElementTree.fromstring(body)
        assert (status, root.findtext("Code"), root.findtext("Message")) == (
            411,
            "MissingContentLength",
            "You must provide the Content-Length HTTP header.",
        )

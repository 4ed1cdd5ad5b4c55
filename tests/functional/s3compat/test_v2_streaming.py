"""A SigV2 request declaring a streaming payload (x-amz-content-sha256: STREAMING-*) without a
usable x-amz-decoded-content-length: AWS answers 411 MissingContentLength before judging the
(certain) hash mismatch, whatever the signature version (Swift's suite:
TestV2Auth*.test_no_md5_streaming_unsigned_*). With a decoded length, the STREAMING-* value
is no digest of the body and fails as a mismatch, as on AWS."""

from __future__ import annotations

import base64
import hashlib
import hmac
from email.utils import formatdate
from xml.etree import ElementTree

import pytest

from tests.functional.s3compat import rawsign
from tests.functional.s3compat.conftest import S3Cluster

STREAMING = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


def _v2_headers(access: str, secret: str, path: str, extra: dict[str, str]) -> dict[str, str]:
    """Header-signed SigV2 (written from AWS's RESTAuthentication description)."""
    date = formatdate(usegmt=True)
    amz = "".join(f"{k}:{v}\n" for k, v in sorted(extra.items()) if k.startswith("x-amz-"))
    to_sign = f"PUT\n\n\n{date}\n{amz}{path}"
    sig = base64.b64encode(hmac.new(secret.encode(), to_sign.encode(), hashlib.sha1).digest())
    return {**extra, "Date": date, "Authorization": f"AWS {access}:{sig.decode()}"}


@pytest.mark.parametrize(
    "extra,want",
    [
        ({}, (411, "MissingContentLength")),
        (
            {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": "not an int"},
            (411, "MissingContentLength"),
        ),
        ({"x-amz-decoded-content-length": "2"}, (400, "XAmzContentSHA256Mismatch")),
    ],
)
def test_v2_streaming_needs_a_decoded_length(
    s3_cluster: S3Cluster, bucket: str, extra: dict[str, str], want: tuple[int, str]
) -> None:
    alice = s3_cluster.users["alice"]
    path = f"/{bucket}/k"
    headers = _v2_headers(
        alice.access, alice.secret, path, {"x-amz-content-sha256": STREAMING, **extra}
    )
    status, _h, body = rawsign.send(s3_cluster.port, "PUT", path, headers, b"hi")
    root = ElementTree.fromstring(body)
    assert (status, root.findtext("Code")) == want, body
    if status == 411:
        assert root.findtext("Message") == "You must provide the Content-Length HTTP header."

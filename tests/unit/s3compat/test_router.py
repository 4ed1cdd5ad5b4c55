from __future__ import annotations

import pytest

from s3compat import router
from s3compat.errors import S3Error


def _parse(method: str, path: str, query: dict | None = None, headers: dict | None = None, **kw):
    return router.parse(method, path, query or {}, headers or {}, **kw)


@pytest.mark.parametrize(
    "method,path,query,headers,name",
    [
        ("GET", "/", {}, {}, "ListBuckets"),
        ("GET", "/bkt", {}, {}, "ListObjects"),
        ("GET", "/bkt/", {"list-type": "2"}, {}, "ListObjectsV2"),
        ("GET", "/bkt", {"versions": ""}, {}, "ListObjectVersions"),
        ("GET", "/bkt", {"location": ""}, {}, "GetBucketLocation"),
        ("PUT", "/bkt", {}, {}, "CreateBucket"),
        ("PUT", "/bkt", {"versioning": ""}, {}, "PutBucketVersioning"),
        ("DELETE", "/bkt", {"cors": ""}, {}, "DeleteBucketCors"),
        ("POST", "/bkt", {"delete": ""}, {}, "DeleteObjects"),
        ("HEAD", "/bkt", {}, {}, "HeadBucket"),
        ("GET", "/bkt/a/b c", {}, {}, "GetObject"),
        ("GET", "/bkt/k", {"attributes": ""}, {}, "GetObjectAttributes"),
        ("PUT", "/bkt/k", {}, {}, "PutObject"),
        ("PUT", "/bkt/k", {}, {"x-amz-copy-source": "/a/b"}, "CopyObject"),
        ("PUT", "/bkt/k", {"partNumber": "1", "uploadId": "u"}, {}, "UploadPart"),
        (
            "PUT",
            "/bkt/k",
            {"partNumber": "1", "uploadId": "u"},
            {"x-amz-copy-source": "/a/b"},
            "UploadPartCopy",
        ),
        ("POST", "/bkt/k", {"uploads": ""}, {}, "CreateMultipartUpload"),
        ("POST", "/bkt/k", {"uploadId": "u"}, {}, "CompleteMultipartUpload"),
        ("DELETE", "/bkt/k", {"uploadId": "u"}, {}, "AbortMultipartUpload"),
        ("DELETE", "/bkt/k", {"versionId": "v"}, {}, "DeleteObject"),
        ("OPTIONS", "/bkt/k", {}, {}, "PreflightCorsRequest"),
    ],
)
def test_operations(method, path, query, headers, name) -> None:
    assert _parse(method, path, query, headers).op.name == name


def test_unimplemented_operations_are_named() -> None:
    req = _parse("PUT", "/bkt", {"accelerate": ""})
    assert req.op.name == "PutBucketAccelerateConfiguration"
    assert not req.op.implemented


def test_virtual_hosted_style() -> None:
    req = _parse(
        "GET", "/some/key", host="my-bucket.s3.example.com:9000", base_domain="s3.example.com"
    )
    assert (req.bucket, req.key, req.virtual_host) == ("my-bucket", "some/key", True)
    req = _parse("GET", "/", host="my-bucket.s3.example.com", base_domain="s3.example.com")
    assert req.op.name == "ListObjects"
    # The base domain itself is path style.
    req = _parse("GET", "/bb2/k", host="s3.example.com", base_domain="s3.example.com")
    assert (req.bucket, req.key) == ("bb2", "k")


@pytest.mark.parametrize(
    "name", ["ab", "UPPER", "a..b", "192.168.1.1", "-abc", "x" * 64, "xn--abc"]
)
def test_bad_bucket_names(name: str) -> None:
    with pytest.raises(S3Error) as exc:
        _parse("GET", f"/{name}")
    assert exc.value.code == "InvalidBucketName"


def test_bad_keys_and_methods() -> None:
    with pytest.raises(S3Error) as exc:
        _parse("GET", "/bkt/" + "k" * 1025)
    assert exc.value.code == "KeyTooLongError"
    with pytest.raises(S3Error):
        _parse("GET", "/bkt/a\x00b")
    with pytest.raises(S3Error) as exc:
        _parse("PATCH", "/bkt/k")
    assert exc.value.code == "MethodNotAllowed"
    with pytest.raises(S3Error):
        _parse("PUT", "/")


def test_matrix_lists_every_operation_once() -> None:
    names = [op.name for op in router.all_operations()]
    assert len(names) == len(set(names))
    assert {"PutObject", "ListBuckets", "CopyObject", "DeleteObjects"} <= set(names)

"""Parse an S3 request into a typed operation before any work is done.

Every request maps to exactly one AWS operation name (as in the API
reference) with the permission it needs. Operations Stratus does not
implement are still recognised, so that the client gets ``NotImplemented``
naming the operation rather than a misrouted answer.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from s3compat.errors import S3Error


class Permission(enum.Enum):
    NONE = "none"  # signature only (ListBuckets: the caller's own buckets)
    READ = "READ"
    WRITE = "WRITE"
    READ_ACP = "READ_ACP"
    WRITE_ACP = "WRITE_ACP"
    OWNER = "OWNER"  # bucket configuration: only the owning project


@dataclass(frozen=True)
class OperationSpec:
    name: str
    scope: str  # "service", "bucket" or "object"
    permission: Permission
    implemented: bool = True


def _op(name: str, scope: str, perm: Permission, implemented: bool = True) -> OperationSpec:
    return OperationSpec(name, scope, perm, implemented)


R, W, RA, WA, OWN = (
    Permission.READ,
    Permission.WRITE,
    Permission.READ_ACP,
    Permission.WRITE_ACP,
    Permission.OWNER,
)

# (method, sub-resource or None) -> operation, per scope. Order matters where
# several sub-resources may appear: the first match wins.
BUCKET_OPS: dict[str, list[tuple[str | None, OperationSpec]]] = {
    "GET": [
        ("location", _op("GetBucketLocation", "bucket", OWN)),
        ("versioning", _op("GetBucketVersioning", "bucket", OWN)),
        ("tagging", _op("GetBucketTagging", "bucket", OWN)),
        ("cors", _op("GetBucketCors", "bucket", OWN)),
        ("acl", _op("GetBucketAcl", "bucket", RA)),
        ("policy", _op("GetBucketPolicy", "bucket", OWN)),
        ("versions", _op("ListObjectVersions", "bucket", R)),
        ("uploads", _op("ListMultipartUploads", "bucket", R)),
        ("lifecycle", _op("GetBucketLifecycleConfiguration", "bucket", OWN)),
        ("website", _op("GetBucketWebsite", "bucket", OWN, False)),
        ("logging", _op("GetBucketLogging", "bucket", OWN, False)),
        ("notification", _op("GetBucketNotificationConfiguration", "bucket", OWN, False)),
        ("replication", _op("GetBucketReplication", "bucket", OWN, False)),
        ("encryption", _op("GetBucketEncryption", "bucket", OWN)),
        ("object-lock", _op("GetObjectLockConfiguration", "bucket", OWN)),
        ("ownershipControls", _op("GetBucketOwnershipControls", "bucket", OWN)),
        ("publicAccessBlock", _op("GetPublicAccessBlock", "bucket", OWN)),
        ("policyStatus", _op("GetBucketPolicyStatus", "bucket", OWN)),
        ("accelerate", _op("GetBucketAccelerateConfiguration", "bucket", OWN, False)),
        ("requestPayment", _op("GetBucketRequestPayment", "bucket", OWN, False)),
        ("analytics", _op("GetBucketAnalyticsConfiguration", "bucket", OWN, False)),
        ("metrics", _op("GetBucketMetricsConfiguration", "bucket", OWN, False)),
        ("inventory", _op("GetBucketInventoryConfiguration", "bucket", OWN, False)),
        (
            "intelligent-tiering",
            _op("GetBucketIntelligentTieringConfiguration", "bucket", OWN, False),
        ),
        ("list-type", _op("ListObjectsV2", "bucket", R)),
        (None, _op("ListObjects", "bucket", R)),
    ],
    "HEAD": [(None, _op("HeadBucket", "bucket", R))],
    "PUT": [
        ("versioning", _op("PutBucketVersioning", "bucket", OWN)),
        ("tagging", _op("PutBucketTagging", "bucket", OWN)),
        ("cors", _op("PutBucketCors", "bucket", OWN)),
        ("acl", _op("PutBucketAcl", "bucket", WA)),
        ("policy", _op("PutBucketPolicy", "bucket", OWN)),
        ("lifecycle", _op("PutBucketLifecycleConfiguration", "bucket", OWN)),
        ("website", _op("PutBucketWebsite", "bucket", OWN, False)),
        ("logging", _op("PutBucketLogging", "bucket", OWN, False)),
        ("notification", _op("PutBucketNotificationConfiguration", "bucket", OWN, False)),
        ("replication", _op("PutBucketReplication", "bucket", OWN, False)),
        ("encryption", _op("PutBucketEncryption", "bucket", OWN)),
        ("object-lock", _op("PutObjectLockConfiguration", "bucket", OWN)),
        ("ownershipControls", _op("PutBucketOwnershipControls", "bucket", OWN)),
        ("publicAccessBlock", _op("PutPublicAccessBlock", "bucket", OWN)),
        ("accelerate", _op("PutBucketAccelerateConfiguration", "bucket", OWN, False)),
        ("requestPayment", _op("PutBucketRequestPayment", "bucket", OWN, False)),
        (None, _op("CreateBucket", "bucket", Permission.NONE)),
    ],
    "DELETE": [
        ("tagging", _op("DeleteBucketTagging", "bucket", OWN)),
        ("cors", _op("DeleteBucketCors", "bucket", OWN)),
        ("policy", _op("DeleteBucketPolicy", "bucket", OWN)),
        ("lifecycle", _op("DeleteBucketLifecycle", "bucket", OWN)),
        ("website", _op("DeleteBucketWebsite", "bucket", OWN, False)),
        ("replication", _op("DeleteBucketReplication", "bucket", OWN, False)),
        ("encryption", _op("DeleteBucketEncryption", "bucket", OWN)),
        ("ownershipControls", _op("DeleteBucketOwnershipControls", "bucket", OWN)),
        ("publicAccessBlock", _op("DeletePublicAccessBlock", "bucket", OWN)),
        (None, _op("DeleteBucket", "bucket", OWN)),
    ],
    "POST": [
        ("delete", _op("DeleteObjects", "bucket", W)),
        # An HTML form upload: the key comes from the form (s3compat.post_object).
        (None, _op("PostObject", "object", W)),
    ],
}

OBJECT_OPS: dict[str, list[tuple[str | None, OperationSpec]]] = {
    "GET": [
        ("tagging", _op("GetObjectTagging", "object", R)),
        ("acl", _op("GetObjectAcl", "object", RA)),
        ("attributes", _op("GetObjectAttributes", "object", R)),
        ("uploadId", _op("ListParts", "object", R)),
        ("retention", _op("GetObjectRetention", "object", R)),
        ("legal-hold", _op("GetObjectLegalHold", "object", R)),
        ("torrent", _op("GetObjectTorrent", "object", R, False)),
        (None, _op("GetObject", "object", R)),
    ],
    "HEAD": [(None, _op("HeadObject", "object", R))],
    "PUT": [
        ("tagging", _op("PutObjectTagging", "object", W)),
        ("acl", _op("PutObjectAcl", "object", WA)),
        ("retention", _op("PutObjectRetention", "object", W)),
        ("legal-hold", _op("PutObjectLegalHold", "object", W)),
        ("uploadId", _op("UploadPart", "object", W)),
        (None, _op("PutObject", "object", W)),
    ],
    "DELETE": [
        ("tagging", _op("DeleteObjectTagging", "object", W)),
        ("uploadId", _op("AbortMultipartUpload", "object", W)),
        (None, _op("DeleteObject", "object", W)),
    ],
    "POST": [
        ("uploads", _op("CreateMultipartUpload", "object", W)),
        ("uploadId", _op("CompleteMultipartUpload", "object", W)),
        ("restore", _op("RestoreObject", "object", W, False)),
        ("select", _op("SelectObjectContent", "object", R, False)),
    ],
}

LIST_BUCKETS = _op("ListBuckets", "service", Permission.NONE)
COPY_OBJECT = _op("CopyObject", "object", W)
UPLOAD_PART_COPY = _op("UploadPartCopy", "object", W)
CORS_PREFLIGHT = _op("PreflightCorsRequest", "object", Permission.NONE)

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-_]{1,61}[a-z0-9]$")
_IP_LIKE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
MAX_KEY_BYTES = 1024


@dataclass(frozen=True)
class S3Request:
    """The parsed request: which operation, on which bucket and key."""

    op: OperationSpec
    bucket: str | None
    key: str | None
    virtual_host: bool


def validate_bucket_name(name: str) -> None:
    """S3's bucket naming rules (underscores tolerated, as legacy S3 did)."""
    if (
        not _BUCKET_NAME.match(name)
        or ".." in name
        or _IP_LIKE.match(name)
        or name.startswith("xn--")
        or name.endswith("-s3alias")
    ):
        raise S3Error("InvalidBucketName", extra={"BucketName": name})


def validate_key(key: str) -> None:
    if not key:
        raise S3Error("InvalidArgument", "Object key must not be empty")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise S3Error("KeyTooLongError")
    if "\x00" in key:
        raise S3Error("InvalidArgument", "Object key must not contain NUL")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise S3Error("InvalidArgument", "Object key must be valid UTF-8") from None


def bucket_from_host(host: str, base_domain: str) -> str | None:
    """The bucket of a virtual-hosted-style request, or None for path style."""
    if not base_domain or not host:
        return None
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.lower().rstrip(".")
    suffix = "." + base_domain.lower().strip(".")
    if name.endswith(suffix) and len(name) > len(suffix):
        return name[: -len(suffix)]
    return None


def _pick(table: Sequence[tuple[str | None, OperationSpec]], query: Mapping[str, str]):
    for sub, spec in table:
        if sub is None or sub in query:
            return spec
    return None


def parse(
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    *,
    host: str = "",
    base_domain: str = "",
) -> S3Request:
    """Route a request; ``path`` is percent-decoded; ``headers`` lower-case keys."""
    vbucket = bucket_from_host(host, base_domain)
    if vbucket is not None:
        bucket: str | None = vbucket
        key = path[1:] if path.startswith("/") else path
    else:
        trimmed = path[1:] if path.startswith("/") else path
        bucket, _, key = trimmed.partition("/")
        bucket = bucket or None
    key = key or None
    method = method.upper()
    if method == "OPTIONS":
        if bucket is None:
            raise S3Error("MethodNotAllowed")
        return S3Request(CORS_PREFLIGHT, bucket, key, vbucket is not None)
    if bucket is None:
        if method != "GET":
            raise S3Error("MethodNotAllowed")
        return S3Request(LIST_BUCKETS, None, None, False)
    validate_bucket_name(bucket)
    if key is None:
        table = BUCKET_OPS.get(method)
    else:
        validate_key(key)
        table = OBJECT_OPS.get(method)
    if table is None:
        raise S3Error("MethodNotAllowed")
    spec = _pick(table, query)
    if spec is None:
        raise S3Error("MethodNotAllowed")
    if "x-amz-copy-source" in headers:
        if spec.name == "PutObject":
            spec = COPY_OBJECT
        elif spec.name == "UploadPart":
            spec = UPLOAD_PART_COPY
    if spec.name == "UploadPart" and "partNumber" not in query:
        raise S3Error("InvalidArgument", "UploadPart needs partNumber and uploadId")
    return S3Request(spec, bucket, key, vbucket is not None)


def all_operations() -> list[OperationSpec]:
    """Every operation the router knows, for the published compatibility matrix."""
    seen: dict[str, OperationSpec] = {}
    for table in (BUCKET_OPS, OBJECT_OPS):
        for entries in table.values():
            for _, spec in entries:
                seen.setdefault(spec.name, spec)
    for spec in (LIST_BUCKETS, COPY_OBJECT, UPLOAD_PART_COPY, CORS_PREFLIGHT):
        seen.setdefault(spec.name, spec)
    return sorted(seen.values(), key=lambda s: (s.scope, s.name))

"""The S3 compatibility matrix, generated from the router's operation table.

``python -m s3compat.compat > docs/s3-compat.md`` writes the page; a unit
test keeps the page, the router and the handler table in step, so the
published matrix cannot drift from what the code does.
"""

from __future__ import annotations

from s3compat.handlers import HANDLERS
from s3compat.router import all_operations

# What a user should know about an operation beyond "supported".
NOTES: dict[str, str] = {
    "CreateBucket": "LocationConstraint must be the configured region (`US` and `aws-global`, "
    "what the aws CLI sends with no region, mean us-east-1); canned ACL and x-amz-grant-* "
    "headers; re-creating an owned bucket answers 200 in us-east-1 (resetting its ACL, as "
    "AWS) and BucketAlreadyOwnedByYou in any other region; BucketAlreadyExists (names are "
    "global through a registry).",
    "ListBuckets": "max-buckets (1 to 10000), continuation-token, prefix, bucket-region; "
    "BucketRegion on every bucket. Without them, every bucket in one answer.",
    "DeleteBucket": "BucketNotEmpty while objects or versions remain; unfinished multipart "
    "uploads are aborted.",
    "ListObjects": "prefix, delimiter, marker, max-keys (at most 1000), encoding-type=url.",
    "ListObjectsV2": "continuation-token, start-after, fetch-owner, plus ListObjects' options.",
    "ListObjectVersions": "key-marker / version-id-marker paging, prefix, delimiter; keys up "
    "to 1,024 bytes. A page's XML lists its versions, then its delete markers.",
    "GetBucketVersioning": "Enabled / Suspended; MFA delete is not supported.",
    "PutBucketVersioning": "Real version ids (sortable by time); delete markers.",
    "GetBucketAcl": "Canned ACLs and grants to AllUsers, AuthenticatedUsers and canonical "
    "users (`project` or `project:user`); the same ACL the native API sees as "
    "X-Container-Read / X-Container-Write.",
    "PutBucketAcl": "x-amz-acl, x-amz-grant-read / -write / -full-control, or an "
    "AccessControlPolicy document.",
    "GetObjectAcl": "Canned ACLs.",
    "PutObjectAcl": "Canned ACLs (private, public-read, public-read-write, "
    "authenticated-read, bucket-owner-*).",
    "PutBucketPolicy": "Allow / Deny with Principal, Action / NotAction, Resource / "
    "NotResource, and String*, Bool, IpAddress, Null conditions; other condition "
    "operators are refused (MalformedPolicy). At most 4 KiB.",
    "PutBucketCors": "Up to 100 rules, at most 4 KiB in all.",
    "PreflightCorsRequest": "OPTIONS answered from the bucket's CORS rules; matching rules "
    "also add CORS headers to ordinary responses.",
    "PutObject": "Content-MD5 (BadDigest), x-amz-checksum-* (CRC32, CRC32C, CRC64NVME, SHA1, "
    "SHA256; header or aws-chunked trailer), If-None-Match: * and If-Match (412 "
    "PreconditionFailed; NoSuchKey for If-Match on no object), storage class recorded, "
    "x-amz-tagging, x-amz-acl. x-amz-meta-* values: RFC 2047 encoded-words are stored "
    "decoded (UTF-8, as the native API shows them) and non-ASCII values answered "
    "RFC 2047-encoded; empty values kept. `aws-chunked` is never a stored Content-Encoding. "
    "`Expect: 100-continue` is answered once the request is authorized, so a refusal "
    "comes before the body.",
    "GetObject": "Range (one range), partNumber, If-Match / If-None-Match / "
    "If-Modified-Since / If-Unmodified-Since, response-* overrides, versionId, "
    "x-amz-checksum-mode.",
    "CopyObject": "Metadata (empty values included) and tagging directives COPY / REPLACE, "
    "x-amz-copy-source-if-*, "
    "across buckets; a multipart source is copied as one object.",
    "DeleteObjects": "Up to 1000 keys, with version ids; Quiet.",
    "GetObjectAttributes": "ETag, Checksum, ObjectParts, StorageClass, ObjectSize.",
    "CompleteMultipartUpload": "ETag md5-of-md5s-N; EntityTooSmall under 5 MiB, InvalidPart, "
    "InvalidPartOrder; COMPOSITE checksums, FULL_OBJECT for CRCs; If-None-Match: * and "
    "If-Match as on PutObject (the upload stays open when the condition fails).",
    "UploadPartCopy": "x-amz-copy-source-range.",
    "ListMultipartUploads": "prefix, delimiter, key-marker / upload-id-marker paging; Owner "
    "and Initiator with ID and DisplayName, as ListParts.",
}

_HEADER = """# S3 compatibility

Stratus serves the S3 REST API on `config.s3` (127.0.0.1:9000 under `stratus up`),
path-style and virtual-hosted-style (`s3.base_domain`), over HTTP or, with
`s3.tls_cert` and `s3.tls_key`, HTTPS (boto3 sends its trailing checksums
only over TLS; over HTTP it puts them in headers). Requests are signed
with AWS Signature V4 (Authorization header, presigned query,
`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`, `STREAMING-UNSIGNED-PAYLOAD-TRAILER`,
`STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`, `UNSIGNED-PAYLOAD`) or
Signature V2 (header and query); anonymous requests are judged by ACLs and
bucket policies. A project's containers are its buckets, and objects
written through either API are read through the other, metadata included.

Every `x-amz-*` header a request carries must be signed (SigV4's
SignedHeaders; SigV2 signs them all), `x-amz-content-sha256` excepted, as
on AWS: otherwise `403 AccessDenied` naming them in `HeadersNotSigned`.
Presigned URLs live at most a week (SigV2's `Expires` included); a SigV4
`X-Amz-Expires` that is not a number, negative, or over 604800 is refused
with AWS's `AuthorizationQueryParametersError` messages, and `0` has
always expired (`AccessDenied`, "Request has expired").

Access: in its own buckets a project's `reader` reads, `member` also
writes, `admin` also manages access: PutBucketAcl, PutBucketPolicy,
DeleteBucketPolicy, and any ACL that lets someone else in (a canned ACL
other than private / bucket-owner-* or grants on CreateBucket, PutObject,
CopyObject, CreateMultipartUpload, PutObjectAcl). Other projects and
anonymous callers get what ACLs and bucket policies grant, except the
owner's operations: Get/Put/DeleteBucketPolicy, PutBucketAcl, the bucket's
CORS, tagging and versioning writes, and DeleteBucket stay with the owning
project whatever a policy says. ListParts and AbortMultipartUpload need the
owning project, a policy Allow, write access to the bucket, or to be the
upload's initiator. A caller who may not list a bucket gets `AccessDenied`
for a missing key, never `NoSuchKey`.

An operation marked *not implemented* answers `501 NotImplemented` naming
the operation. This page is generated from the router's operation table
(`python -m s3compat.compat`); a test keeps it in step.
"""


def render() -> str:
    lines = [
        _HEADER,
        "| operation | scope | permission | status | notes |",
        "|---|---|---|---|---|",
    ]
    ops = all_operations()
    for spec in ops:
        done = spec.implemented and spec.name in HANDLERS
        status = "supported" if done else "not implemented"
        if spec.name == "PreflightCorsRequest":
            status = "supported"
        note = NOTES.get(spec.name, "")
        lines.append(
            f"| {spec.name} | {spec.scope} | {spec.permission.value} | {status} | {note} |"
        )
    supported = sum(1 for s in ops if s.implemented)
    lines += ["", f"{supported} of {len(ops)} operations supported.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")

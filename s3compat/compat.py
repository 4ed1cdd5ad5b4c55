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
    "ListObjects": "prefix, delimiter, marker, max-keys (at most 1000), encoding-type=url. "
    "Owner is each object's (the writing project's under ObjectWriter). ChecksumAlgorithm "
    "and ChecksumType for each object with a checksum.",
    "ListObjectsV2": "continuation-token, start-after, fetch-owner, plus ListObjects' options.",
    "ListObjectVersions": "key-marker / version-id-marker paging, prefix, delimiter; keys up "
    "to 1,024 bytes. A page's XML lists its versions, then its delete markers. "
    "ChecksumAlgorithm and ChecksumType for each version with a checksum.",
    "GetBucketVersioning": "Enabled / Suspended; MFA delete is not supported.",
    "PutBucketVersioning": "Real version ids (sortable by time); delete markers. Each write "
    "stores its own version first, under its own id, so concurrent writes of one key "
    "through any number of proxies keep every version, and the newest is current (its copy "
    "in the bucket is counted in the native API's byte counts as well).",
    "GetBucketAcl": "The grants as they were set (canned ACLs expanded as AWS does): "
    "AllUsers, AuthenticatedUsers, LogDelivery and canonical users (`project` or "
    "`project:user`) with READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL; the same ACL the "
    "native API sees as X-Container-Read / X-Container-Write (a later change there wins). "
    "A READ_ACP grantee may read it; only the owner's FULL_CONTROL under BucketOwnerEnforced.",
    "PutBucketAcl": "x-amz-acl, x-amz-grant-read / -write / -read-acp / -write-acp / "
    "-full-control (`id=`, `uri=`; `emailAddress=` answers UnresolvableGrantByEmailAddress), "
    "or an AccessControlPolicy document. Owner-only (a WRITE_ACP grant does not let another "
    "project change it). AccessControlListNotSupported under BucketOwnerEnforced, "
    "AccessDenied for a public ACL under BlockPublicAcls. Up to 100 grants, as AWS; "
    "the grantees with READ (or WRITE) also form the bucket's Swift read (write) ACL, one "
    "4 KiB value: 100 grantees whose ids are up to ~40 characters.",
    "GetObjectAcl": "Owner and grants as set; the writing project owns what it writes into "
    "another project's bucket (ObjectWriter). READ_ACP grantees may read it.",
    "PutObjectAcl": "Canned ACLs, x-amz-grant-* headers or an AccessControlPolicy document, "
    "as PutBucketAcl. WRITE_ACP grantees may set ACLs that share with nobody new; sharing "
    "needs the owning project's admin or a policy Allow. An object's ACL is one 3500-byte "
    "metadata value: 100 grants whose ids are up to ~20 characters (MalformedACLError "
    "past it, where AWS takes 100 of any length).",
    "PutBucketPolicy": "Kept and returned byte for byte. Principal / NotPrincipal (`*`, "
    "`arn:aws:iam::<project>:root`, `arn:aws:iam::<project>:user/<user>`, `<project>`, "
    "`<project>:<user>`; unknown projects: MalformedPolicy), Action / NotAction, Resource / "
    "NotResource (this bucket only). Every IAM condition operator (String*, Numeric*, Date*, "
    "Bool, BinaryEquals, IpAddress, Arn*, Null, ...IfExists, ForAnyValue: / ForAllValues:, "
    "policy variables) and S3's keys (s3:prefix, s3:delimiter, s3:max-keys, s3:x-amz-acl, "
    "s3:x-amz-grant-*, s3:ExistingObjectTag/*, s3:RequestObjectTag/*, "
    "s3:RequestObjectTagKeys, s3:x-amz-server-side-encryption*, s3:x-amz-copy-source, "
    "s3:x-amz-metadata-directive, s3:x-amz-storage-class, s3:VersionId, s3:object-lock-*, "
    "s3:signatureversion, s3:authType, s3:ResourceAccount; aws:SourceIp, "
    "aws:SecureTransport, aws:Referer, aws:UserAgent, aws:CurrentTime, aws:EpochTime, "
    "aws:username, aws:userid, aws:PrincipalAccount, aws:PrincipalType); unknown operators "
    "or keys are MalformedPolicy. A public policy under BlockPublicPolicy: AccessDenied. "
    "At most 20 KB without whitespace, as AWS; unknown elements: MalformedPolicy "
    "`Unknown field <name>`; an element named twice in one object: MalformedPolicy "
    "`Duplicate field <name>` (a Stratus choice, AWS documents none).",
    "GetBucketPolicyStatus": "IsPublic by AWS's rule (an Allow to everyone not tied to "
    "fixed callers by aws:SourceIp or a fixed aws:Source*/Principal* key).",
    "PutBucketOwnershipControls": "ObjectWriter, BucketOwnerPreferred, BucketOwnerEnforced "
    "(also `x-amz-object-ownership` on CreateBucket). Enforced refuses ACLs other than the "
    "owner's full control (400 AccessControlListNotSupported) and makes stored ACLs grant "
    "nothing; it is refused while the bucket ACL shares (InvalidBucketAclWithObjectOwnership). "
    "Needs the project's admin.",
    "GetBucketOwnershipControls": "OwnershipControlsNotFoundError when none is set (new "
    "buckets have none and behave as ObjectWriter, where AWS now defaults to "
    "BucketOwnerEnforced).",
    "PutPublicAccessBlock": "BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, "
    "RestrictPublicBuckets, all enforced on ACLs and policies; per bucket (no account-wide "
    "setting). Needs the project's admin.",
    "GetPublicAccessBlock": "NoSuchPublicAccessBlockConfiguration when none is set (new "
    "buckets have none, where AWS now blocks everything by default).",
    "PutBucketTagging": "Up to 50 tags of 128 + 256 characters, as AWS.",
    "PutObjectTagging": "Up to 10 tags of 128 + 256 characters; an object's tags are one "
    "metadata value on the storage nodes, so they fit when their UTF-8 form is at most "
    "4 KiB (any ASCII tags; InvalidTag past it, where AWS takes more non-ASCII text).",
    "PutBucketCors": "Up to 100 rules in a document of at most 64 KB, as AWS "
    "(MaxMessageLengthExceeded past it).",
    "PutBucketLifecycleConfiguration": "Filters by Prefix, Tag, ObjectSizeGreaterThan / "
    "LessThan and And; Expiration (Days, Date, ExpiredObjectDeleteMarker), "
    "NoncurrentVersionExpiration (NoncurrentDays, NewerNoncurrentVersions), "
    "AbortIncompleteMultipartUpload; validated as AWS. Transitions answer InvalidStorageClass "
    "(one storage class). Rules run in a pass of the proxy every `s3.lifecycle_interval` "
    "seconds and on `stratus s3 lifecycle run`; locked versions are kept; "
    "`s3.lifecycle_debug_day_seconds` shortens a day for tests. Up to 1000 rules, as AWS "
    "(the stored rules at most 1 MiB).",
    "GetBucketLifecycleConfiguration": "The rules as stored; NoSuchLifecycleConfiguration "
    "without any. GET, HEAD, PUT and CompleteMultipartUpload of an object a rule expires "
    "carry `x-amz-expiration`.",
    "PostObject": "HTML form uploads (browser-based, `multipart/form-data` to the bucket's "
    "URL, boto3's generate_presigned_post): SigV4 and SigV2 POST policies, or anonymous (no "
    "signature fields) into a bucket that lets anyone write. Policy conditions: exact match "
    '(`{"acl": ...}`, `eq`), `starts-with` (a Content-Type list item by item), '
    "`content-length-range` (EntityTooSmall / EntityTooLarge with ProposedSize), `bucket`; "
    "`${filename}` in any field; every field but the signature, policy, file and "
    '`x-ignore-*` must be covered (AccessDenied "Invalid according to Policy: Extra input '
    'fields: ..."); expired ("Policy expired.", also once the signing key is a week old) '
    'or failed conditions ("Policy Condition failed: [...]") are AccessDenied, an '
    "unreadable policy InvalidPolicyDocument, a changed one SignatureDoesNotMatch. Fields: "
    "key, acl, Content-Type and the other content headers, x-amz-meta-*, tagging (XML), "
    "x-amz-storage-class, Content-MD5, x-amz-checksum-*; fields after the file are "
    "ignored, fields before it are at most 20 KB (MaxPostPreDataLengthExceeded). "
    "success_action_status 200 / 201 (PostResponse) / 204, success_action_redirect or "
    "redirect (303 with bucket, key and etag). The file streams into the store.",
    "PreflightCorsRequest": "OPTIONS answered from the bucket's CORS rules; matching rules "
    "also add CORS headers to ordinary responses.",
    "PutObject": "Server-side encryption: SSE-C (x-amz-server-side-encryption-customer-*, "
    "AES256, key MD5 checked, over TLS only unless `s3.sse_c_plain_http`; the key is never "
    "stored) and SSE-S3 (x-amz-server-side-encryption: AES256, cluster-held keys), or the "
    "bucket's default; aws:kms answers NotImplemented. AES-256-CTR under a per-object data "
    "key; the ETag of an encrypted object is the MD5 of its stored (encrypted) bytes, for "
    "SSE-S3 too (AWS gives the plaintext's MD5 there). "
    "Content-MD5 (BadDigest), x-amz-checksum-* (CRC32, CRC32C, CRC64NVME, SHA1, "
    "SHA256; header or aws-chunked trailer; answered with x-amz-checksum-type FULL_OBJECT; "
    "without one, a CRC64NVME computed by the server, as AWS: `s3.default_checksum`), "
    "If-None-Match: * and If-Match (412 "
    "PreconditionFailed; NoSuchKey for If-Match on no object), storage class recorded, "
    "x-amz-tagging, x-amz-acl. x-amz-meta-* values: RFC 2047 encoded-words are stored "
    "decoded (UTF-8, as the native API shows them) and non-ASCII values answered "
    "RFC 2047-encoded; empty values kept. `aws-chunked` is never a stored Content-Encoding. "
    "`Expect: 100-continue` is answered once the request is authorized, so a refusal "
    "comes before the body.",
    "GetObject": "SSE-C (same key: 400 InvalidRequest without it, 403 AccessDenied with "
    "another; the key's MD5 echoed) and SSE-S3 objects decrypted, ranges and parts included. "
    "Range (one range), partNumber (not both: InvalidRequest), If-Match / If-None-Match / "
    "If-Modified-Since / If-Unmodified-Since, response-* overrides, versionId, "
    "x-amz-checksum-mode.",
    "CopyObject": "Encrypted sources (x-amz-copy-source-server-side-encryption-customer-*) "
    "and destinations (SSE-C, SSE-S3 or the bucket default; never inherited from the source, "
    "as AWS); a copy onto itself that changes the encryption is allowed. "
    "Metadata (empty values included) and tagging directives COPY / REPLACE, "
    "x-amz-copy-source-if-*, "
    "across buckets; a multipart source is copied as one object.",
    "DeleteObjects": "Up to 1000 keys, with version ids; Quiet.",
    "GetObjectAttributes": "ETag, Checksum (with ChecksumType), ObjectParts (each part's "
    "checksum), StorageClass, ObjectSize.",
    "CompleteMultipartUpload": "ETag md5-of-md5s-N; EntityTooSmall under 5 MiB, InvalidPart, "
    "InvalidPartOrder; COMPOSITE and FULL_OBJECT checksums, part checksums and the "
    "whole-object x-amz-checksum-* checked, x-amz-checksum-type, x-amz-mp-object-size; "
    "an SSE-C upload's key is optional here, checked and echoed when given; If-None-Match: "
    "* and If-Match as on PutObject (the upload stays open when the condition fails).",
    "UploadPartCopy": "x-amz-copy-source-range; an encrypted source is read with its "
    "x-amz-copy-source-server-side-encryption-customer-* key, the part sealed as its upload "
    "asks; the part summed with the upload's checksum algorithm (CopyPartResult).",
    "UploadPart": "The upload's encryption: SSE-C parts must give the key the upload was "
    "created with (InvalidRequest otherwise); the upload's checksum algorithm.",
    "CreateMultipartUpload": "SSE-C or SSE-S3 (or the bucket's default) for every part; "
    "x-amz-checksum-algorithm and x-amz-checksum-type (FULL_OBJECT / COMPOSITE).",
    "ListParts": "Each part's checksum, ChecksumAlgorithm and ChecksumType.",
    "HeadObject": "As GetObject; an SSE-C object needs its key (400 InvalidRequest without, "
    "403 with another).",
    "PutBucketEncryption": "One rule, SSEAlgorithm AES256 (BucketKeyEnabled kept as given); "
    "aws:kms answers NotImplemented: Stratus has no key management service.",
    "GetBucketEncryption": "ServerSideEncryptionConfigurationNotFoundError when none is set.",
    "DeleteBucketEncryption": "New objects are then stored as sent; stored ones stay encrypted.",
    "ListMultipartUploads": "prefix, delimiter, key-marker / upload-id-marker paging; Owner "
    "(the upload's owner) and Initiator (the `project:user` who began it) with ID and "
    "DisplayName, as ListParts; ChecksumAlgorithm and ChecksumType.",
    "GetObjectLockConfiguration": "ObjectLockEnabled and the default retention Rule; "
    "ObjectLockConfigurationNotFoundError for a bucket without Object Lock.",
    "PutObjectLockConfiguration": "On a bucket created with "
    "x-amz-bucket-object-lock-enabled, or one whose versioning is Enabled (else 409 "
    "InvalidBucketState); default retention GOVERNANCE / COMPLIANCE with Days (1 to 36500) "
    "or Years (1 to 100): MalformedXML / InvalidArgument as AWS. Content-MD5 or a checksum "
    "is required.",
    "PutObjectRetention": "Extending always; shortening or removing a GOVERNANCE retention "
    "needs x-amz-bypass-governance-retention: true and s3:BypassGovernanceRetention; "
    "COMPLIANCE is never shortened nor changed (AccessDenied). versionId.",
    "GetObjectRetention": "NoSuchObjectLockConfiguration when the version has none; "
    "InvalidRequest on a bucket without Object Lock.",
    "PutObjectLegalHold": "ON / OFF, per version.",
    "GetObjectLegalHold": "NoSuchObjectLockConfiguration when never set.",
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
owner's operations: Get/Put/DeleteBucketPolicy, PutBucketAcl, every bucket
configuration write (CORS, tagging, versioning, lifecycle, encryption, Object
Lock, ownership controls, public access block, and their deletes) and
DeleteBucket stay with the owning project whatever a policy says (AWS lets a
policy grant another account the configuration writes; only the policy
operations are the owner account's alone there). A policy Deny never stops the
owner managing the policy itself. ListParts and AbortMultipartUpload need the
owning project, a policy Allow, write access to the bucket, or to be the
upload's initiator. A caller who may not list a bucket gets `AccessDenied`
for a missing key, never `NoSuchKey`.

Ownership and public access: Object Ownership (PutBucketOwnershipControls) and Block
Public Access (PutPublicAccessBlock) are kept with the bucket and, like ACLs and
policies, set by the project's `admin` only. With no ownership controls an object
another project writes is owned by that project (AWS's ObjectWriter: its FULL_CONTROL
grant lets it read it back); BucketOwnerEnforced turns ACLs off. Block Public Access
refuses public ACLs (grants to AllUsers or AuthenticatedUsers) and public policies, and
can make existing ones grant nothing. IgnorePublicAcls and BucketOwnerEnforced hold
for the native API too (the container's `.r:` and `*:*` items, or all its ACL items,
grant nothing while they are on); BlockPublicAcls does not stop a native
`X-Container-Read: .r:*` (only a project admin may set one there).

`x-amz-expected-bucket-owner` is honoured on every operation on a bucket or object
(and `x-amz-source-expected-bucket-owner` on a copy's source): a bucket owned by
anyone else answers `403 AccessDenied`. The owner is named by its canonical ID,
the project, as ListBuckets and the ACLs show it.

A conditional write (`If-None-Match: *` or `If-Match` on PutObject or
CompleteMultipartUpload) that starts while an earlier write of the same key is
still running answers `409 ConditionalRequestConflict` (retry it), as on AWS;
writes are tracked per proxy process.

Object Lock: a bucket created with `x-amz-bucket-object-lock-enabled: true` has
versioning Enabled for good (suspending it answers `409 InvalidBucketState`). New
versions take `x-amz-object-lock-mode` / `-retain-until-date` / `-legal-hold`
(PutObject, CopyObject, CreateMultipartUpload, POST forms) or the bucket's default
retention; GET and HEAD answer them. Deleting a retained or held version
(DeleteObject or DeleteObjects with a version id) answers `403 AccessDenied` ("Access
Denied because object protected by object lock."), unless a GOVERNANCE retention is
bypassed (`x-amz-bypass-governance-retention: true` from the owning project's members
and admins, or another project a policy allows `s3:BypassGovernanceRetention`; a policy
Deny of it wins); a delete without a version id adds a delete marker and an overwrite a
new version, as on AWS. The store itself keeps the version, whichever API asks: the
native API's DELETE, PUT or COPY onto it answers `409 Conflict`, and an `X-Delete-At`
waits until the retention ends. A locked multipart object's segments (in the hidden
`<bucket>+segments` container) carry the same retention and legal hold, set at
CompleteMultipartUpload and changed with PutObjectRetention / PutObjectLegalHold, so
the native API cannot delete or replace them either.

Checksums of multipart uploads: CreateMultipartUpload takes `x-amz-checksum-algorithm`
and `x-amz-checksum-type`: FULL_OBJECT (CRC32, CRC32C, CRC64NVME; the CRC of every
byte, combined from the parts' CRCs) or COMPOSITE (CRC32, CRC32C, SHA1, SHA256; the
checksum of the parts' checksums, `-<parts>` appended); the default is FULL_OBJECT for
CRC64NVME and COMPOSITE otherwise, and other combinations are refused with AWS's
messages. Every part must use the upload's algorithm ("Checksum Type mismatch
occurred..."); a FULL_OBJECT part sent without a checksum is summed by the server.
CompleteMultipartUpload checks each listed part checksum (InvalidArgument when it is not
one canonical base64 value, BadDigest for another algorithm, InvalidPart when it is not
the stored one; COMPOSITE needs one for every part), then the whole-object
`x-amz-checksum-*` header (BadDigest, lower-case algorithm, as AWS) and
`x-amz-checksum-type` / `x-amz-mp-object-size`. GetObject and HeadObject answer the
checksum and its type only with `x-amz-checksum-mode: ENABLED` (any other value:
InvalidRequest), for a range covering every byte (206) but not a smaller one, and for
`partNumber` of a multipart object the part's own checksum. GetObjectAttributes names
the checksum of checksums without its `-<parts>` and each part's checksum in
ObjectParts; ListParts and ListMultipartUploads name each upload's algorithm and type.
An object uploaded without a checksum gets a full-object CRC64NVME one, as on AWS
(`s3.default_checksum`, on by default: about 5 µs of CPU for a 4 KiB PutObject, 15 ms
per 64 MiB); multipart uploads created without an algorithm still get none. Object
listings (ListObjects, ListObjectsV2, ListObjectVersions) name each object's
ChecksumAlgorithm and ChecksumType from its listing row (a content-type parameter,
`s3_checksum`, that neither API ever shows as the Content-Type); objects written
before this, or whose content type a native POST replaced, list none.

Streaming uploads (`Content-Encoding: aws-chunked`): STREAMING-AWS4-HMAC-SHA256-PAYLOAD,
STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER (each chunk signature chained from the
request's, the trailer's `x-amz-trailer-signature` from the last chunk's) and
STREAMING-UNSIGNED-PAYLOAD-TRAILER (boto3's default over HTTPS), decoded only for
header-signed SigV4 requests (elsewhere the value is no digest: XAmzContentSHA256Mismatch,
after the `x-amz-decoded-content-length` checks, as AWS). `x-amz-trailer` names one
`x-amz-checksum-*` (blanks and trailing commas forgiven; anything else, or two,
InvalidRequest); the trailer must be the one announced and must come
(MalformedTrailerError; also for a trailer announced on a body that is not aws-chunked);
a bad value is "Value for x-amz-checksum-crc32 trailing header is invalid." and a wrong
one BadDigest. Framing as AWS: a line not ending in CRLF, a chunk without (or with a
blank) signature, a stream cut short: IncompleteBody; a chunk below 8 KiB that is not
the last: 403 InvalidChunkSizeError; a chunk or trailer signature that does not verify:
403 SignatureDoesNotMatch naming the string to sign and the canonical request.
`aws-chunked` is removed from the stored Content-Encoding, other codings are kept.

Lifecycle: Put/Get/DeleteBucketLifecycleConfiguration keep a bucket's rules with
the bucket (they replicate with it). The proxy applies them in a pass every
`s3.lifecycle_interval` seconds (default an hour; 0: off), and `stratus s3 lifecycle
run [--json]` runs one pass now against the cluster of its data directory. A pass
expires current objects (a delete marker in a versioned bucket, as DeleteObject),
removes noncurrent versions and noncurrent delete markers `NoncurrentDays` after they
became noncurrent beyond the `NewerNoncurrentVersions` newest, removes a delete
marker left alone (`ExpiredObjectDeleteMarker`), and aborts uploads begun
`DaysAfterInitiation` days ago. A version under retention or legal hold is never
removed (counted as `locked`). Days count from creation and round up to the next
midnight UTC, as AWS; `s3.lifecycle_debug_day_seconds` (a test setting, like Ceph's
`rgw_lc_debug_interval`) makes a day that many seconds, unrounded. GET, HEAD, PUT
and CompleteMultipartUpload of an object an Expiration rule matches answer
`x-amz-expiration: expiry-date="...",
rule-id="..."`. Storage-class transitions answer `InvalidStorageClass`. Every proxy
runs its own pass (they do the same work; a second finds it done).

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

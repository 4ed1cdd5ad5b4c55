"""Get/Put/DeleteBucketEncryption: a bucket's default server-side encryption.

The one rule AWS allows (``ApplyServerSideEncryptionByDefault``) is kept in
the container's system metadata: the algorithm (``AES256`` only: ``aws:kms``
needs a key management service Stratus does not have, and is refused) and
the ``BucketKeyEnabled`` flag as given (it changes nothing here: SSE-S3 has
no per-request KMS cost to save). PutObject, CopyObject and
CreateMultipartUpload without encryption headers of their own then seal
new objects with SSE-S3 (:mod:`s3compat.sse`); objects already stored are
left as they are, as on AWS.
"""

from __future__ import annotations

from aiohttp import web

from s3compat import sse, xmlio
from s3compat.context import S3Context, empty, xml_response
from s3compat.errors import S3Error


async def handle_put_bucket_encryption(ctx: S3Context) -> web.StreamResponse:
    root = await ctx.read_xml("ServerSideEncryptionConfiguration")
    rules = root.findall("Rule")
    if len(rules) != 1:
        raise S3Error("MalformedXML")
    default = rules[0].find("ApplyServerSideEncryptionByDefault")
    algorithm = xmlio.text(default, "SSEAlgorithm") if default is not None else None
    if algorithm is None:
        raise S3Error("MalformedXML")
    sse.check_mode(algorithm.strip(), "SSEAlgorithm")
    if default is not None and default.find("KMSMasterKeyID") is not None:
        raise S3Error(
            "InvalidArgument",
            "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms",
            extra={"ArgumentName": "ApplyServerSideEncryptionByDefault"},
        )
    bucket_key = (xmlio.text(rules[0], "BucketKeyEnabled") or "false").strip().lower()
    if bucket_key not in ("true", "false"):
        raise S3Error("MalformedXML")
    system = {sse.BUCKET_DEFAULT: sse.SSE_S3, sse.BUCKET_KEY: bucket_key}
    await ctx.core.post_container(ctx.account, ctx.bucket_name, system=system)
    return empty(200)


async def handle_get_bucket_encryption(ctx: S3Context) -> web.StreamResponse:
    assert ctx.bucket is not None
    algorithm = ctx.bucket.system.get(sse.BUCKET_DEFAULT)
    if not algorithm:
        raise S3Error(
            "ServerSideEncryptionConfigurationNotFoundError",
            extra={"BucketName": ctx.bucket_name},
        )
    rule = {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": algorithm},
        "BucketKeyEnabled": ctx.bucket.system.get(sse.BUCKET_KEY) == "true",
    }
    return xml_response("ServerSideEncryptionConfiguration", {"Rule": rule})


async def handle_delete_bucket_encryption(ctx: S3Context) -> web.StreamResponse:
    system = {sse.BUCKET_DEFAULT: "", sse.BUCKET_KEY: ""}
    await ctx.core.post_container(ctx.account, ctx.bucket_name, system=system)
    return empty(204)

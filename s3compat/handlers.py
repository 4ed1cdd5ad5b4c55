"""The one table from AWS operation name to the handler that serves it.

An operation the router knows but that is missing here answers
NotImplemented; the compatibility matrix (docs/s3-compat.md) is generated
from the router's operations and this table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from s3compat import (
    acl,
    attributes,
    bucket,
    bucket_encryption,
    complete,
    copy,
    cors,
    delete_many,
    lifecycle,
    listing,
    listing_versions,
    multipart,
    object_lock,
    objects,
    ownership,
    policy,
    post_object,
    public_access,
    service,
    tagging,
    versioning,
)
from s3compat.context import S3Context

Handler = Callable[[S3Context], Awaitable[web.StreamResponse]]

HANDLERS: dict[str, Handler] = {
    "ListBuckets": service.handle_list_buckets,
    "CreateBucket": bucket.handle_create_bucket,
    "HeadBucket": bucket.handle_head_bucket,
    "DeleteBucket": bucket.handle_delete_bucket,
    "GetBucketLocation": bucket.handle_get_bucket_location,
    "GetObjectLockConfiguration": object_lock.handle_get_object_lock_configuration,
    "PutObjectLockConfiguration": object_lock.handle_put_object_lock_configuration,
    "GetObjectRetention": object_lock.handle_get_object_retention,
    "PutObjectRetention": object_lock.handle_put_object_retention,
    "GetObjectLegalHold": object_lock.handle_get_object_legal_hold,
    "PutObjectLegalHold": object_lock.handle_put_object_legal_hold,
    "ListObjects": listing.handle_list_objects,
    "ListObjectsV2": listing.handle_list_objects_v2,
    "ListObjectVersions": listing_versions.handle_list_object_versions,
    "PutObject": objects.handle_put_object,
    "GetObject": objects.handle_get_object,
    "HeadObject": objects.handle_head_object,
    "DeleteObject": objects.handle_delete_object,
    "CopyObject": copy.handle_copy_object,
    "PostObject": post_object.handle_post_object,
    "DeleteObjects": delete_many.handle_delete_objects,
    "GetObjectTagging": tagging.handle_get_object_tagging,
    "PutObjectTagging": tagging.handle_put_object_tagging,
    "DeleteObjectTagging": tagging.handle_delete_object_tagging,
    "GetBucketTagging": tagging.handle_get_bucket_tagging,
    "PutBucketTagging": tagging.handle_put_bucket_tagging,
    "DeleteBucketTagging": tagging.handle_delete_bucket_tagging,
    "GetObjectAttributes": attributes.handle_get_object_attributes,
    "CreateMultipartUpload": multipart.handle_create_multipart_upload,
    "UploadPart": multipart.handle_upload_part,
    "UploadPartCopy": multipart.handle_upload_part_copy,
    "CompleteMultipartUpload": complete.handle_complete_multipart_upload,
    "AbortMultipartUpload": multipart.handle_abort_multipart_upload,
    "ListParts": multipart.handle_list_parts,
    "ListMultipartUploads": multipart.handle_list_multipart_uploads,
    "GetBucketVersioning": versioning.handle_get_bucket_versioning,
    "PutBucketVersioning": versioning.handle_put_bucket_versioning,
    "GetBucketAcl": acl.handle_get_bucket_acl,
    "PutBucketAcl": acl.handle_put_bucket_acl,
    "GetObjectAcl": acl.handle_get_object_acl,
    "PutObjectAcl": acl.handle_put_object_acl,
    "GetBucketCors": cors.handle_get_bucket_cors,
    "PutBucketCors": cors.handle_put_bucket_cors,
    "DeleteBucketCors": cors.handle_delete_bucket_cors,
    "GetBucketPolicy": policy.handle_get_bucket_policy,
    "PutBucketPolicy": policy.handle_put_bucket_policy,
    "GetBucketEncryption": bucket_encryption.handle_get_bucket_encryption,
    "PutBucketEncryption": bucket_encryption.handle_put_bucket_encryption,
    "DeleteBucketEncryption": bucket_encryption.handle_delete_bucket_encryption,
    "DeleteBucketPolicy": policy.handle_delete_bucket_policy,
    "GetBucketPolicyStatus": public_access.handle_get_bucket_policy_status,
    "GetPublicAccessBlock": public_access.handle_get_public_access_block,
    "PutPublicAccessBlock": public_access.handle_put_public_access_block,
    "DeletePublicAccessBlock": public_access.handle_delete_public_access_block,
    "GetBucketOwnershipControls": ownership.handle_get_bucket_ownership_controls,
    "PutBucketOwnershipControls": ownership.handle_put_bucket_ownership_controls,
    "DeleteBucketOwnershipControls": ownership.handle_delete_bucket_ownership_controls,
    "GetBucketLifecycleConfiguration": lifecycle.handle_get_bucket_lifecycle,
    "PutBucketLifecycleConfiguration": lifecycle.handle_put_bucket_lifecycle,
    "DeleteBucketLifecycle": lifecycle.handle_delete_bucket_lifecycle,
}

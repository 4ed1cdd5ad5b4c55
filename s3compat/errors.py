"""S3 errors: one exception type, one table from error code to HTTP status.

Every failure the S3 dialect reports goes through ``S3Error`` and is rendered
by ``error_xml``, so the mapping lives in exactly one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from xml.sax.saxutils import escape

# code -> (HTTP status, default message)
ERRORS: dict[str, tuple[int, str]] = {
    "AccessDenied": (403, "Access Denied"),
    "AccessForbidden": (403, "CORSResponse: This CORS request is not allowed."),
    "AccessControlListNotSupported": (400, "The bucket does not allow ACLs"),
    "AuthorizationHeaderMalformed": (400, "The authorization header is malformed"),
    "AuthorizationQueryParametersError": (400, "Query-string authentication is malformed"),
    "BadDigest": (400, "The Content-MD5 you specified did not match what we received."),
    "BucketAlreadyExists": (409, "The requested bucket name is not available."),
    "BucketAlreadyOwnedByYou": (
        409,
        "Your previous request to create the named bucket succeeded and you already own it.",
    ),
    "BucketNotEmpty": (409, "The bucket you tried to delete is not empty"),
    "ConditionalRequestConflict": (
        409,
        "A conflicting operation occurred. If using PutObject you can retry the request. If "
        "using multipart upload you should initiate another CreateMultipartUpload request and "
        "re-upload each part.",
    ),
    "EntityTooLarge": (400, "Your proposed upload exceeds the maximum allowed object size."),
    "EntityTooSmall": (400, "Your proposed upload is smaller than the minimum allowed size"),
    "InvalidChunkSizeError": (
        403,  # sic: AWS answers 403
        "Only the last chunk is allowed to have a size less than 8192 bytes",
    ),
    "IncompleteBody": (400, "The request body terminated unexpectedly"),
    "MalformedTrailerError": (
        400,
        "The request contained trailing data that was not well-formed or did not conform to "
        "our published schema.",
    ),
    "InternalError": (500, "We encountered an internal error. Please try again."),
    "InvalidAccessKeyId": (403, "The AWS Access Key Id you provided does not exist."),
    "InvalidArgument": (400, "Invalid Argument"),
    "InvalidBucketName": (400, "The specified bucket is not valid."),
    "InvalidBucketAclWithObjectOwnership": (
        400,
        "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
    ),
    "InvalidBucketState": (409, "The request is not valid with the current state of the bucket."),
    "InvalidDigest": (400, "The Content-MD5 you specified was invalid."),
    "InvalidObjectState": (403, "The operation is not valid for the object's state"),
    "InvalidPolicyDocument": (
        400,
        "The content of the form does not meet the conditions specified in the policy document.",
    ),
    "InvalidPart": (
        400,
        "One or more of the specified parts could not be found.  The part may not have been "
        "uploaded, or the specified entity tag may not match the part's entity tag.",
    ),
    "InvalidPartOrder": (400, "The list of parts was not in ascending order."),
    "InvalidEncryptionAlgorithmError": (
        400,
        "The encryption request that you specified is not valid. The valid value is AES256.",
    ),
    "ServerSideEncryptionConfigurationNotFoundError": (
        404,
        "The server side encryption configuration was not found",
    ),
    "InvalidLocationConstraint": (400, "The specified location constraint is not valid."),
    "InvalidPartNumber": (416, "The requested partnumber is not satisfiable"),
    "InvalidRange": (416, "The requested range is not satisfiable"),
    "InvalidRequest": (400, "Invalid Request"),
    "InvalidStorageClass": (400, "The storage class you specified is not valid"),
    "InvalidTag": (400, "The tag provided was not a valid tag."),
    "KeyTooLongError": (400, "Your key is too long"),
    "MalformedXML": (
        400,
        "The XML you provided was not well-formed or did not validate against our published schema",
    ),
    "MalformedACLError": (400, "The XML you provided was not well-formed or did not validate"),
    "MalformedPOSTRequest": (
        400,
        "The body of your POST request is not well-formed multipart/form-data.",
    ),
    "MaxMessageLengthExceeded": (400, "Your request was too big."),
    "MaxPostPreDataLengthExceeded": (
        400,
        "Your POST request fields preceeding the upload file was too large.",  # sic, as AWS
    ),
    "MalformedPolicy": (400, "Policies must be valid JSON and the first byte must be '{'"),
    "MetadataTooLarge": (400, "Your metadata headers exceed the maximum allowed metadata size."),
    "MethodNotAllowed": (405, "The specified method is not allowed against this resource."),
    "MissingRequestBodyError": (400, "Request Body is empty"),
    "MissingContentLength": (411, "You must provide the Content-Length HTTP header."),
    "NoSuchBucket": (404, "The specified bucket does not exist"),
    "NoSuchBucketPolicy": (404, "The bucket policy does not exist"),
    "NoSuchCORSConfiguration": (404, "The CORS configuration does not exist"),
    "NoSuchLifecycleConfiguration": (404, "The lifecycle configuration does not exist"),
    "ObjectLockConfigurationNotFoundError": (
        404,
        "Object Lock configuration does not exist for this bucket",
    ),
    "NoSuchKey": (404, "The specified key does not exist."),
    "NoSuchPublicAccessBlockConfiguration": (
        404,
        "The public access block configuration was not found",
    ),
    "OwnershipControlsNotFoundError": (404, "The bucket ownership controls were not found"),
    "UnresolvableGrantByEmailAddress": (
        400,
        "The e-mail address you provided does not match any account on record.",
    ),
    "NoSuchObjectLockConfiguration": (
        404,
        "The specified object does not have a ObjectLock configuration",
    ),
    "NoSuchTagSet": (404, "The TagSet does not exist"),
    "NoSuchUpload": (404, "The specified upload does not exist."),
    "NoSuchVersion": (404, "The specified version does not exist."),
    "NotImplemented": (501, "A header you provided implies functionality that is not implemented"),
    "NotModified": (304, "Not Modified"),
    "OperationAborted": (
        409,
        "A conflicting conditional operation is currently in progress against this resource.",
    ),
    "PreconditionFailed": (412, "At least one of the pre-conditions you specified did not hold"),
    "RequestTimeTooSkewed": (
        403,
        "The difference between the request time and the current time is too large.",
    ),
    "RequestTimeout": (
        400,
        "Your socket connection to the server was not read from or written to within "
        "the timeout period.",
    ),
    "ServiceUnavailable": (503, "Please reduce your request rate."),
    "SlowDown": (503, "Please reduce your request rate."),
    "SignatureDoesNotMatch": (
        403,
        "The request signature we calculated does not match the signature you provided.",
    ),
    "XAmzContentSHA256Mismatch": (
        400,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    ),
}


class S3Error(Exception):
    """An S3 error response: code, message, and extra XML elements."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        extra: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        resource: bool = True,
    ) -> None:
        """``resource`` False: the body names no <Resource> (AWS leaves it out of some)."""
        if code not in ERRORS:
            raise ValueError(f"unknown S3 error code {code!r}")
        status, default = ERRORS[code]
        super().__init__(message or default)
        self.code = code
        self.status = status
        self.message = message or default
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})
        self.resource = resource


def error_xml(err: S3Error, *, resource: str = "", request_id: str = "") -> bytes:
    """The XML body S3 clients parse for the error code and message."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error>',
        f"<Code>{escape(err.code)}</Code>",
        f"<Message>{escape(err.message)}</Message>",
    ]
    parts += [f"<{k}>{escape(v)}</{k}>" for k, v in err.extra.items()]
    if resource and err.resource:
        parts.append(f"<Resource>{escape(resource)}</Resource>")
    if request_id:
        parts.append(f"<RequestId>{escape(request_id)}</RequestId>")
    parts.append("</Error>")
    return "".join(parts).encode(errors="replace")  # header bytes that were not UTF-8: "?"

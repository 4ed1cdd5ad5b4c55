"""S3 headers to the core's object metadata and back.

``x-amz-meta-<name>`` is user metadata ``<name>``: the same item the native
API shows as ``X-Object-Meta-<Name>``, so metadata crosses the APIs.
Content-Type, Content-Encoding, Content-Disposition, Content-Language,
Cache-Control and Expires are the core's content attributes. What only S3
knows (storage class, checksum, tags, canned ACL, version id, multipart
layout) is the object's system metadata (``s3-*``), which the native API
neither shows nor drops.
"""

from __future__ import annotations

import base64
import email.errors
import email.header
import hashlib
import json
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote

from objectstore.proxy.conditional import http_date
from objectstore.proxy.models import CONTENT_ATTRIBUTES, ObjectInfo, ObjectMetadata
from s3compat import lock_state
from s3compat.context import S3Context, etag_header
from s3compat.errors import S3Error

USER_PREFIX = "x-amz-meta-"
MAX_USER_METADATA = 2048  # AWS's limit on x-amz-meta-* names and values together
STORAGE_CLASS = "s3-storage-class"
CHECKSUM = "s3-checksum"  # "<ALGORITHM>:<base64 value>"
TAGS = "s3-tags"  # encode_tags form (older objects: URL-encoded, as x-amz-tagging)
ACL = "s3-acl"
VERSION_ID = "s3-version-id"
PARTS = "s3-parts"  # multipart: number of parts
# Names of x-amz-meta-* items sent empty: the core (as Swift) drops empty user
# metadata on a write, S3 keeps and returns it. Stored as "<digest>:<name>,<name>",
# the digest of the non-empty items written beside them, so a native POST that
# replaces the user metadata also ends the empty items (their digest no longer matches).
EMPTY_USER = "s3-empty-meta"
STORAGE_CLASSES = frozenset(
    {
        "STANDARD",
        "REDUCED_REDUNDANCY",
        "STANDARD_IA",
        "ONEZONE_IA",
        "INTELLIGENT_TIERING",
        "GLACIER",
        "DEEP_ARCHIVE",
        "GLACIER_IR",
        "OUTPOSTS",
        "SNOW",
        "EXPRESS_ONEZONE",
    }
)
MAX_TAGS = 10
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


def decode_value(value: str) -> str:
    """A metadata value as stored: RFC 2047 encoded-words decoded (UTF-8 text), as AWS does."""
    if "=?" not in value:
        return value
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (ValueError, LookupError, UnicodeDecodeError, email.errors.HeaderParseError):
        return value  # not encoded-words after all: kept as sent


def encode_value(value: str) -> str:
    """A stored metadata value for a response header: non-ASCII text RFC 2047-encoded (AWS)."""
    if value.isascii():
        return value
    data = value.encode("utf-8", "surrogateescape")
    return f"=?UTF-8?B?{base64.b64encode(data).decode()}?="


def user_metadata(headers: Mapping[str, str]) -> dict[str, str]:
    """The request's x-amz-meta-* items (MetadataTooLarge past AWS's 2 KB)."""
    user: dict[str, str] = {}
    size = 0
    for name, value in headers.items():
        if name.startswith(USER_PREFIX):
            key = name[len(USER_PREFIX) :]
            if not key:
                raise S3Error("InvalidArgument", "Metadata name cannot be empty")
            user[key] = decode_value(value)
            size += len(key.encode()) + len(user[key].encode("utf-8", "surrogateescape"))
    if size > MAX_USER_METADATA:
        raise S3Error(
            "MetadataTooLarge",
            extra={"Size": str(size), "MaxSizeAllowed": str(MAX_USER_METADATA)},
        )
    return user


def content_encoding(headers: Mapping[str, str]) -> str | None:
    """Content-Encoding without ``aws-chunked`` when the body was aws-chunked (a transfer
    detail then, never stored); a body sent whole keeps what the client said."""
    value = headers.get("content-encoding")
    if value is None:
        return None
    if "x-amz-decoded-content-length" not in headers:
        return value
    kept = [v.strip() for v in value.split(",") if v.strip() and v.strip() != "aws-chunked"]
    return ", ".join(kept) or None


def content_attributes(headers: Mapping[str, str]) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for name in CONTENT_ATTRIBUTES:
        value = content_encoding(headers) if name == "content-encoding" else headers.get(name)
        if value:
            attrs[name] = value
    return attrs


def storage_class(headers: Mapping[str, str]) -> str | None:
    value = headers.get("x-amz-storage-class")
    if value is None:
        return None
    if value not in STORAGE_CLASSES:
        raise S3Error("InvalidStorageClass", extra={"StorageClassRequested": value})
    return value


def parse_tagging(value: str) -> list[tuple[str, str]]:
    """``k1=v1&k2=v2`` (x-amz-tagging) as validated pairs."""
    try:
        pairs = parse_qsl(value, keep_blank_values=True, strict_parsing=bool(value))
    except ValueError:
        raise S3Error("InvalidArgument", "The header 'x-amz-tagging' shall be encoded") from None
    check_tags(pairs)
    return pairs


def check_tags(pairs: list[tuple[str, str]], limit: int = MAX_TAGS) -> None:
    if len(pairs) > limit:
        raise S3Error("InvalidTag", "Object tags cannot be greater than 10")
    seen = set()
    for key, value in pairs:
        if not key or len(key) > 128 or len(value) > 256:
            raise S3Error("InvalidTag", "The TagKey or TagValue you have provided is invalid")
        if key in seen:
            raise S3Error("InvalidTag", "Cannot provide multiple Tags with the same key")
        seen.add(key)


def encode_tags(pairs: list[tuple[str, str]]) -> str:
    """Tags as stored: a JSON list of pairs, UTF-8 as is, the most compact form (10 tags
    of AWS's longest ASCII keys and values fit one 4 KiB metadata value; URL-encoding
    would triple some characters)."""
    return json.dumps([[k, v] for k, v in pairs], separators=(",", ":"), ensure_ascii=False)


def query_tags(pairs: list[tuple[str, str]]) -> str:
    """Tags in x-amz-tagging's URL-encoded query form."""
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def decode_tags(stored: str | None) -> list[tuple[str, str]]:
    """Read :func:`encode_tags`'s form, or the URL-encoded one stored before it."""
    if not stored:
        return []
    if stored.startswith("["):  # never the URL-encoded form's first character ("%5B")
        return [(str(k), str(v)) for k, v in json.loads(stored)]
    return parse_qsl(stored, keep_blank_values=True)


def metadata_for_put(ctx: S3Context) -> ObjectMetadata:
    """Everything a PutObject (or CreateMultipartUpload) says about the object."""
    h = ctx.headers
    attrs = content_attributes(h)
    system: dict[str, str] = {}
    sc = storage_class(h)
    if sc is not None and sc != "STANDARD":
        system[STORAGE_CLASS] = sc
    if "x-amz-tagging" in h:
        tags = parse_tagging(h["x-amz-tagging"])
        if tags:
            system[TAGS] = encode_tags(tags)
    if ctx.bucket is not None:
        from s3compat.acl import object_acl_for_write

        if (stored_acl := object_acl_for_write(ctx)) is not None:
            system[ACL] = stored_acl
    system.update(lock_state.entries_from_headers(ctx))
    user = user_metadata(h)
    kept = {k: v for k, v in user.items() if v != ""}
    if empty := sorted(k for k, v in user.items() if v == ""):
        system[EMPTY_USER] = f"{_user_digest(kept)}:{','.join(empty)}"
    return ObjectMetadata(
        content_type=h.get("content-type") or "binary/octet-stream",
        user=kept,
        attributes=attrs,
        system=system,
    )


def _user_digest(user: Mapping[str, str]) -> str:
    canonical = json.dumps(sorted(user.items()), ensure_ascii=False).encode()
    return hashlib.blake2b(canonical, digest_size=8).hexdigest()


def empty_user_names(user: Mapping[str, str], system: Mapping[str, str]) -> list[str]:
    """The x-amz-meta-* items written empty, while the user metadata is still that write's."""
    digest, _, names = system.get(EMPTY_USER, "").partition(":")
    if not names or digest != _user_digest(user):
        return []
    return names.split(",")


def object_headers(info: ObjectInfo, *, checksum_mode: bool = False) -> dict[str, str]:
    """Response headers describing an object (GET and HEAD)."""
    attrs, system = info.attributes, info.system
    out = {
        "Content-Type": info.content_type,
        "ETag": etag_header(info.etag),
        "Last-Modified": http_date(info.last_modified),
        "Accept-Ranges": "bytes",
    }
    for name in CONTENT_ATTRIBUTES:
        if name in attrs:
            out[_title(name)] = attrs[name]
    for key, value in info.user.items():
        out[USER_PREFIX + key] = encode_value(value)
    for key in empty_user_names(info.user, system):
        out.setdefault(USER_PREFIX + key, "")
    if STORAGE_CLASS in system:
        out["x-amz-storage-class"] = system[STORAGE_CLASS]
    if system.get(TAGS):
        out["x-amz-tagging-count"] = str(len(decode_tags(system[TAGS])))
    if VERSION_ID in system:
        out["x-amz-version-id"] = system[VERSION_ID]
    out.update(lock_state.response_headers(system))
    if checksum_mode and CHECKSUM in system:
        algorithm, _, value = system[CHECKSUM].partition(":")
        out[f"x-amz-checksum-{algorithm.lower()}"] = value
        out["x-amz-checksum-type"] = checksum_type(value)
    return out


def checksum_type(value: str) -> str:
    """A stored checksum's type: a multipart COMPOSITE one ends "-<parts>" (base64 has no "-")."""
    return "COMPOSITE" if "-" in value else "FULL_OBJECT"


def _title(name: str) -> str:
    return "-".join(p.capitalize() for p in name.split("-"))


def response_overrides(ctx: S3Context, headers: dict[str, str]) -> None:
    """Apply response-* query overrides (signed requests only, as AWS)."""
    wanted = {q: h for q, h in RESPONSE_OVERRIDES.items() if q in ctx.query}
    if not wanted:
        return
    if ctx.principal is None:
        raise S3Error(
            "InvalidRequest",
            "Request specific response headers cannot be used for anonymous GET requests.",
        )
    for q, h in wanted.items():
        headers[h] = ctx.query[q]

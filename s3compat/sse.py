"""Server-side encryption on the S3 write and read paths: SSE-C, SSE-S3 and bucket defaults.

A write asks for encryption with SSE-C headers (the customer's AES-256 key,
sent with every request and never stored), with
``x-amz-server-side-encryption: AES256`` (SSE-S3: keys held by the cluster,
:mod:`s3compat.sse_keys`), or gets its bucket's default
(PutBucketEncryption). Either way the object is sealed as
:mod:`s3compat.sse_crypto` describes: AES-256-CTR under a random data key,
the data key wrapped by the customer's or the cluster's key. What is
stored with the object (system metadata, which the native API never shows):

- ``s3-sse``: ``AES256`` (SSE-S3) or ``SSE-C``;
- ``s3-sse-key``: the wrapped data key (SSE-S3: ``<key id>:<wrapped>``);
- ``s3-sse-iv``: the IV of the object's bytes (every part of a multipart
  upload has its own; the parts share the upload's data key).

Nothing derived from a customer key alone is stored: the GCM wrap of the
data key is what tells the right key from a wrong one. ETags are the MD5 of
the stored (encrypted) bytes, for SSE-C as on AWS, and for SSE-S3 too
(AWS gives the plaintext's MD5 there): no digest of the plaintext is kept.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from objectstore.proxy import manifest, sealed
from objectstore.proxy.models import ObjectInfo, ObjectMetadata
from s3compat import sse_crypto
from s3compat.context import S3Context
from s3compat.errors import S3Error
from s3compat.sse_keys import KeyRing

MODE = "s3-sse"
WRAPPED = "s3-sse-key"
IV = "s3-sse-iv"
SSE_S3 = "AES256"
SSE_C = "SSE-C"
HEADER = "x-amz-server-side-encryption"
CUSTOMER = "x-amz-server-side-encryption-customer-"
COPY_CUSTOMER = "x-amz-copy-source-server-side-encryption-customer-"
KMS = frozenset({"aws:kms", "aws:kms:dsse"})

_SECURE = (
    "Requests specifying Server Side Encryption with Customer provided keys must be made "
    "over a secure connection."
)
_NO_ALGORITHM = (
    "Requests specifying Server Side Encryption with Customer provided keys must provide a "
    "valid encryption algorithm."
)
_NO_KEY = (
    "Requests specifying Server Side Encryption with Customer provided keys must provide an "
    "appropriate secret key."
)
_BAD_KEY = "The secret key was invalid for the specified algorithm."
_NO_MD5 = (
    "Requests specifying Server Side Encryption with Customer provided keys must provide the "
    "client calculated MD5 of the secret key."
)
_BAD_MD5 = "The calculated MD5 hash of the key did not match the hash that was provided."
NEEDS_KEY = (
    "The object was stored using a form of Server Side Encryption. The correct parameters "
    "must be provided to retrieve the object."
)
NOT_APPLICABLE = "The encryption parameters are not applicable to this object."
PART_NEEDS_KEY = (
    "The multipart upload initiate requested encryption. Subsequent part requests must "
    "include the appropriate encryption parameters."
)
PART_MISMATCH = "The provided encryption parameters did not match the ones used originally."


@dataclass(frozen=True)
class CustomerKey:
    """An SSE-C key as a request gave it: the key and its MD5 (base64, echoed back)."""

    key: bytes = field(repr=False)
    md5: str


def _invalid(header: str, message: str) -> S3Error:
    return S3Error("InvalidArgument", message, extra={"ArgumentName": header})


def customer_key(ctx: S3Context, prefix: str = CUSTOMER) -> CustomerKey | None:
    """The request's SSE-C key (``prefix``: the object's, or the copy source's), checked as AWS
    checks it; None when the request names none."""
    h = ctx.headers
    alg_name, key_name, md5_name = prefix + "algorithm", prefix + "key", prefix + "key-md5"
    alg, key, md5 = h.get(alg_name), h.get(key_name), h.get(md5_name)
    if alg is None and key is None and md5 is None:
        return None
    if not ctx.settings.sse_c_plain_http and not ctx.request.secure:
        raise S3Error("InvalidRequest", _SECURE)
    if not alg:
        raise _invalid(alg_name, _NO_ALGORITHM)
    if alg != "AES256":
        raise S3Error("InvalidEncryptionAlgorithmError", extra={"ArgumentName": alg_name})
    if not key:
        raise _invalid(key_name, _NO_KEY)
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(key_name, _BAD_KEY) from None
    if len(raw) != sse_crypto.KEY_SIZE:
        raise _invalid(key_name, _BAD_KEY)
    if not md5:
        raise _invalid(md5_name, _NO_MD5)
    if base64.b64encode(hashlib.md5(raw, usedforsecurity=False).digest()).decode() != md5:
        raise _invalid(md5_name, _BAD_MD5)
    return CustomerKey(raw, md5)


def check_mode(value: str, header: str = HEADER) -> None:
    """An ``x-amz-server-side-encryption`` value: AES256, or refused (KMS: not here)."""
    if value in KMS:
        raise S3Error(
            "NotImplemented",
            f"Server-side encryption with {value} is not implemented by Stratus (it has no key "
            "management service); use AES256 (SSE-S3) or SSE-C",
        )
    if value != SSE_S3:
        raise S3Error(
            "InvalidArgument",
            "The encryption method specified is not supported",
            extra={"ArgumentName": header, "ArgumentValue": value[:64]},
        )


def requested(ctx: S3Context) -> bool:
    """Whether the request names an encryption of its own (changes a copy onto itself)."""
    return HEADER in ctx.headers or any(h.startswith(CUSTOMER) for h in ctx.headers)


@dataclass
class Protection:
    """How a new object (or part) is sealed: the mode, the data key and its wrapped form."""

    mode: str
    data_key: bytes = field(repr=False)
    wrapped: str
    customer: CustomerKey | None = None

    def entries(self) -> dict[str, str]:
        """What an upload record keeps: its parts are sealed with the same data key. The
        native API refuses the bytes of what carries ``sealed`` (it has no key)."""
        return {MODE: self.mode, WRAPPED: self.wrapped, sealed.ENTRY: MODE}

    def seal(self, md: ObjectMetadata) -> Callable[[bytes], bytes]:
        """Record this protection (and a new IV) in ``md``: the returned function encrypts the
        body's chunks in order. A client's Content-MD5 is checked on the plaintext by the
        request body, so the stored ETag is not compared with it."""
        iv = sse_crypto.new_iv()
        md.system = {**(md.system or {}), **self.entries(), IV: base64.b64encode(iv).decode()}
        md.etag = None
        return sse_crypto.Stream(self.data_key, iv).update

    def headers(self) -> dict[str, str]:
        return _headers(self.mode, self.customer)


def _headers(mode: str | None, customer: CustomerKey | None) -> dict[str, str]:
    if mode == SSE_S3:
        return {HEADER: SSE_S3}
    if mode == SSE_C and customer is not None:
        return {CUSTOMER + "algorithm": "AES256", CUSTOMER + "key-MD5": customer.md5}
    return {}


def _keyring(ctx: S3Context) -> KeyRing:
    keys = ctx.settings.sse_keys
    if keys is None:
        raise S3Error("NotImplemented", "SSE-S3 needs the cluster's key file (s3.sse_key_file)")
    return keys


async def for_write(ctx: S3Context) -> Protection | None:
    """The protection a PutObject, CopyObject (destination) or CreateMultipartUpload asks for,
    or its bucket's default; None: stored as sent."""
    customer = customer_key(ctx)
    mode = ctx.headers.get(HEADER)
    if customer is not None:
        if mode is not None:
            raise _invalid(
                HEADER,
                "Server Side Encryption with Customer provided key is incompatible with the "
                "encryption method specified",
            )
        data_key = sse_crypto.new_key()
        return Protection(SSE_C, data_key, sse_crypto.wrap(customer.key, data_key), customer)
    if mode is None and ctx.bucket is not None:
        mode = ctx.bucket.system.get(BUCKET_DEFAULT) or None
    if mode is None:
        return None
    check_mode(mode)
    key_id, kek = await asyncio.to_thread(_keyring(ctx).active)
    data_key = sse_crypto.new_key()
    return Protection(SSE_S3, data_key, f"{key_id}:{sse_crypto.wrap(kek, data_key)}")


def for_part(ctx: S3Context, record: Mapping[str, str]) -> Protection | None:
    """An UploadPart's (or UploadPartCopy's) protection: its upload's, with the same key."""
    customer = customer_key(ctx)
    mode = record.get(MODE)
    if mode is None:
        if customer is not None:
            raise S3Error("InvalidRequest", PART_MISMATCH)
        return None
    opener = _opener(ctx, mode, customer, record, PART_NEEDS_KEY)
    data_key = opener.key_for(record)
    if data_key is None:
        raise S3Error("InvalidRequest", PART_MISMATCH)
    return Protection(mode, data_key, record[WRAPPED], customer)


@dataclass
class Opener:
    """How a stored object's bytes are read back: the key that unwraps its data keys."""

    mode: str
    customer: CustomerKey | None
    keyring: KeyRing | None = None  # SSE-S3
    _keys: dict[str, bytes] = field(default_factory=dict, repr=False)

    def key_for(self, system: Mapping[str, str]) -> bytes | None:
        """The data key of an object or part (None: not this key's)."""
        wrapped = system.get(WRAPPED, "")
        if wrapped in self._keys:
            return self._keys[wrapped]
        if self.mode == SSE_C:
            assert self.customer is not None
            key = sse_crypto.unwrap(self.customer.key, wrapped)
        else:
            key_id, _, blob = wrapped.partition(":")
            assert self.keyring is not None
            kek = self.keyring.get(key_id)
            key = sse_crypto.unwrap(kek, blob) if kek is not None else None
        if key is not None:
            self._keys[wrapped] = key
        return key

    def decoder(self, info: ObjectInfo, offset: int) -> Callable[[bytes], bytes]:
        """The decryption of ``info``'s bytes from byte ``offset`` (a segment's too)."""
        key = self.key_for(info.system)
        try:
            iv = base64.b64decode(info.system.get(IV, ""), validate=True)
        except (binascii.Error, ValueError):
            iv = b""
        if key is None or len(iv) != sse_crypto.IV_SIZE:
            raise S3Error("InternalError", "An encrypted object's key or IV cannot be read")
        return sse_crypto.Stream(key, iv, offset).update

    def headers(self) -> dict[str, str]:
        return _headers(self.mode, self.customer)


def _opener(
    ctx: S3Context,
    mode: str,
    customer: CustomerKey | None,
    system: Mapping[str, str],
    missing: str,
) -> Opener:
    if mode == SSE_C:
        if customer is None:
            raise S3Error("InvalidRequest", missing)
        return Opener(SSE_C, customer)
    if customer is not None:
        raise S3Error("InvalidRequest", NOT_APPLICABLE)
    return Opener(mode, None, _keyring(ctx))


def for_read(
    ctx: S3Context, system: Mapping[str, str], *, copy_source: bool = False
) -> Opener | None:
    """How to read a stored object (GET, HEAD, a copy's source), or None when it is plain.

    SSE-C needs the same key: none is 400 InvalidRequest, another is 403 AccessDenied (AWS).
    """
    customer = customer_key(ctx, COPY_CUSTOMER if copy_source else CUSTOMER)
    mode = system.get(MODE)
    if mode is None:
        if customer is not None:
            raise S3Error("InvalidRequest", NOT_APPLICABLE)
        return None
    opener = _opener(ctx, mode, customer, system, NEEDS_KEY)
    if opener.key_for(system) is None:
        if mode == SSE_C:
            raise S3Error("AccessDenied")
        raise S3Error("InternalError", "The cluster key that wrapped this object is missing")
    return opener


async def transformed(
    chunks: AsyncIterable[bytes], update: Callable[[bytes], bytes]
) -> AsyncIterator[bytes]:
    """``chunks`` passed through a CTR stream (encrypting or decrypting)."""
    async for chunk in chunks:
        yield update(chunk)


# Bucket default encryption (PutBucketEncryption): the container's system entry.
BUCKET_DEFAULT = "s3-encryption"  # "AES256"
BUCKET_KEY = "s3-encryption-bucket-key"  # "true" / "false", as given


class _Decrypted:
    """An opened core body whose chunks come out decrypted (closed as the body)."""

    def __init__(self, body: Any, decode: Callable[[bytes], bytes]) -> None:
        self._body = body
        self._decode = decode
        self.ranges = body.ranges

    async def chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self._body.chunks():
            yield self._decode(chunk)

    def close(self) -> None:
        self._body.close()


def decrypted(opener: Opener, info: ObjectInfo, body: Any) -> _Decrypted:
    """``body`` (an opened object, whole or its one range) read back as plaintext."""
    offset = body.ranges[0][0] if body.ranges else 0
    return _Decrypted(body, opener.decoder(info, offset))


class DecryptingGetter:
    """The core as a segmented body reads through it: each part decrypted with its own IV."""

    def __init__(self, core: manifest.Getter, opener: Opener) -> None:
        self._core = core
        self._opener = opener

    async def get_object(
        self, account: str, container: str, name: str, ranges: Any = None, **kw: Any
    ) -> tuple[ObjectInfo, Any]:
        info, body = await self._core.get_object(account, container, name, ranges, **kw)
        return info, decrypted(self._opener, info, body)


def encrypting(
    protect: Protection | None, md: ObjectMetadata, chunks: AsyncIterable[bytes]
) -> AsyncIterable[bytes]:
    """A copy's bytes as its destination stores them (``md`` records the protection)."""
    if protect is None:
        return chunks
    return transformed(chunks, protect.seal(md))


def stored_headers(system: Mapping[str, str]) -> dict[str, str]:
    """What a response says of a stored object's encryption without its key (SSE-S3's mode)."""
    return _headers(system.get(MODE), None)

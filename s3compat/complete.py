"""CompleteMultipartUpload: check the parts, write the manifest, tidy up.

The listed parts must be in ascending order (InvalidPartOrder), exist with
the ETags given (InvalidPart), and all but the last be at least 5 MiB
(EntityTooSmall). The object's ETag is the MD5 of the parts' binary MD5s
followed by ``-<count>``. With a checksum algorithm the parts' checksums
are checked and combined: COMPOSITE (the checksum of the part checksums,
``-<count>``) or, for CRCs, FULL_OBJECT (the CRC of the whole object,
combined from the parts' CRCs without reading a byte). The manifest is
written in the parts' stead (versioning applies as to any write), parts
left out of the list are deleted, and the upload record goes last: a
retried Complete of an upload already completed answers as the first did.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from objectstore.proxy import manifest
from objectstore.proxy.models import ObjectInfo, ObjectMetadata, ObjectRow
from s3compat import (
    checksums,
    lifecycle,
    meta,
    mpu_checksums,
    multipart,
    segment_lock,
    segments,
    sse,
    versioning,
    writes,
    xmlio,
)
from s3compat.context import S3Context, etag_header, xml_response
from s3compat.errors import S3Error
from stratus.digits import ascii_uint

MIN_PART_SIZE = 5 * 1024 * 1024
_COMBINE = {"CRC32": "combine_crc32", "CRC32C": "combine_crc32c", "CRC64NVME": "combine_crc64nvme"}


@dataclass
class Wanted:
    number: int
    etag: str
    sums: dict[str, str] = field(default_factory=dict)


def _parse(root: Any) -> list[Wanted]:
    out = []
    for part in root.findall("Part"):
        number = xmlio.text(part, "PartNumber")
        etag = xmlio.text(part, "ETag")
        n = ascii_uint(number.strip()) if number is not None else None
        if n is None or etag is None:
            raise S3Error("MalformedXML")  # each Part needs a PartNumber and an ETag
        sums = {
            a: v.strip()
            for a in checksums.ALGORITHMS
            if (v := xmlio.text(part, f"Checksum{a}")) is not None
        }
        mpu_checksums.part_sums(n, sums)  # one, in canonical base64 (InvalidArgument)
        out.append(Wanted(n, etag.strip().strip('"'), sums))
    if not out:
        raise S3Error("MalformedXML", "The XML you provided did not list any part")
    if len(out) > multipart.MAX_PARTS:
        raise S3Error("InvalidArgument", f"At most {multipart.MAX_PARTS} parts")
    for a, b in itertools.pairwise(out):
        if b.number <= a.number:
            raise S3Error("InvalidPartOrder")
    return out


def _invalid_part(w: Wanted, uid: str) -> S3Error:
    return S3Error(
        "InvalidPart", extra={"UploadId": uid, "PartNumber": str(w.number), "ETag": w.etag}
    )


def _pick_parts(
    ctx: S3Context, uid: str, wanted: list[Wanted], stored: dict[int, ObjectRow]
) -> list[manifest.Segment]:
    cont = segments.container_for(ctx.bucket_name)
    segs = []
    for i, w in enumerate(wanted):
        row = stored.get(w.number)
        if row is None or row.etag != w.etag:
            raise _invalid_part(w, uid)
        if i < len(wanted) - 1 and row.size < MIN_PART_SIZE:
            raise S3Error(
                "EntityTooSmall",
                extra={
                    "ProposedSize": str(row.size),
                    "MinSizeAllowed": str(MIN_PART_SIZE),
                    "PartNumber": str(w.number),
                    "ETag": w.etag,
                },
            )
        segs.append(manifest.Segment(cont, row.name, row.size, row.etag))
    return segs


def multipart_etag(segs: list[manifest.Segment] | list[Wanted]) -> str:
    digest = hashlib.md5(b"".join(bytes.fromhex(s.etag) for s in segs), usedforsecurity=False)
    return f"{digest.hexdigest()}-{len(segs)}"


def _same_parts(wanted: list[Wanted], etag: str) -> bool:
    """Whether a Complete's part list is the one that made the object of ``etag``."""
    try:
        return multipart_etag(wanted) == etag
    except ValueError:  # an ETag that is not hex listed no part of ours
        return False


async def _wanted(ctx: S3Context) -> list[Wanted]:
    """The Complete request's part list."""
    if ctx.body is not None:
        # x-amz-checksum-* here is the object's checksum, not the XML's (as on AWS).
        ctx.body.not_a_body_checksum()
        ctx.body.digest_in_base64 = True
    return _parse(await ctx.read_xml("CompleteMultipartUpload"))


def _combine(algorithm: str, kind: str, values: list[bytes], segs: list[manifest.Segment]) -> str:
    if kind == mpu_checksums.FULL_OBJECT:
        if algorithm not in _COMBINE:
            raise S3Error("InvalidRequest", f"{algorithm} cannot be a FULL_OBJECT checksum")
        from awscrt import checksums as crt

        combine = getattr(crt, _COMBINE[algorithm])
        crc = int.from_bytes(values[0], "big")
        for raw, seg in zip(values[1:], segs[1:], strict=True):
            crc = combine(crc, int.from_bytes(raw, "big"), seg.size)
        return checksums.encode(crc.to_bytes(len(values[0]), "big"))
    return f"{checksums.compute(algorithm, b''.join(values))}-{len(values)}"


def _listed(upload: mpu_checksums.UploadChecksum, wanted: list[Wanted]) -> list[str | None]:
    """Each listed part's checksum of the upload's algorithm (None: not listed, FULL_OBJECT)."""
    out: list[str | None] = []
    for w in wanted:
        listed = mpu_checksums.part_sums(w.number, w.sums)
        if listed is None:
            if upload.kind == mpu_checksums.COMPOSITE:
                raise mpu_checksums.missing_part(upload, w.number)
            out.append(None)
        elif listed[0] != upload.algorithm:
            raise mpu_checksums.other_part_algorithm(listed[0], w.number)
        else:
            out.append(listed[1])
    return out


async def _match_untracked(
    ctx: S3Context, uid: str, wanted: list[Wanted], segs: list[manifest.Segment]
) -> None:
    """An upload created without a checksum: a part's listed checksum must still be what
    its UploadPart stored (InvalidPart), and the object gets none."""
    listed = [(w, s) for w, s in zip(wanted, segs, strict=True) if w.sums]
    if not listed:
        return
    names = [s.name for _w, s in listed]
    stored = await segments.stored_checksums(ctx, segs[0].container, names)
    for (w, _seg), value in zip(listed, stored, strict=True):
        alg, _, b64 = value.partition(":")
        if w.sums != {alg: b64}:
            raise _invalid_part(w, uid)


async def _checksum(
    ctx: S3Context, uid: str, record: ObjectInfo, wanted: list[Wanted], segs: list[manifest.Segment]
) -> str | None:
    """The object's ``ALG:value`` checksum, parts checked, or None without an algorithm.

    COMPOSITE: the whole is computed from the listed part checksums and checked
    against the request's header first (BadDigest), then each listed checksum
    against the stored one (InvalidPart); FULL_OBJECT: the parts first, then
    the whole combined from the stored CRCs (the order AWS answers in).
    """
    upload = multipart.upload_checksum(record)
    whole = mpu_checksums.whole_from_headers(ctx.headers) if upload is not None else None
    mpu_checksums.check_kind(upload, ctx.headers)
    if upload is None:
        await _match_untracked(ctx, uid, wanted, segs)
        return None
    listed = _listed(upload, wanted)
    stored = await segments.stored_checksums(ctx, segs[0].container, [s.name for s in segs])
    if upload.kind == mpu_checksums.COMPOSITE:
        values = [mpu_checksums.decode(v) for v in listed if v is not None]
        computed = _combine(upload.algorithm, upload.kind, values, segs)
        mpu_checksums.check_whole(upload, whole, computed)
    parts: list[bytes] = []
    for w, given, value in zip(wanted, listed, stored, strict=True):
        alg, _, b64 = value.partition(":")
        if alg != upload.algorithm or (given is not None and given != b64):
            raise _invalid_part(w, uid)
        try:
            parts.append(mpu_checksums.decode(b64))
        except ValueError:
            raise _invalid_part(w, uid) from None
    computed = _combine(upload.algorithm, upload.kind, parts, segs)
    mpu_checksums.check_whole(upload, whole, computed)
    return f"{upload.algorithm}:{computed}"


def _result(ctx: S3Context, etag: str, checksum: str | None, vid: str | None) -> web.Response:
    body: dict[str, Any] = {
        "Location": f"/{ctx.bucket_name}/{ctx.key}",
        "Bucket": ctx.bucket_name,
        "Key": ctx.key,
        "ETag": etag_header(etag),
    }
    if checksum:
        algorithm, _, value = checksum.partition(":")
        body[f"Checksum{algorithm}"] = value
        body["ChecksumType"] = "COMPOSITE" if "-" in value else "FULL_OBJECT"
    resp = xml_response("CompleteMultipartUploadResult", body)
    if vid and vid != versioning.NULL:
        resp.headers["x-amz-version-id"] = vid
    return resp


async def _already_completed(ctx: S3Context, uid: str, err: S3Error) -> web.Response:
    """A retried Complete: the current object was made by this upload, from the same parts
    (another part list is NoSuchUpload, as on AWS)."""
    cur = await versioning.current(ctx)
    if cur is None or cur.system.get(multipart.UPLOAD_ID) != uid:
        raise err
    info = segments.presented(cur)
    if not _same_parts(await _wanted(ctx), info.etag):
        raise err
    return _result(ctx, info.etag, cur.system.get(meta.CHECKSUM), cur.system.get(meta.VERSION_ID))


async def handle_complete_multipart_upload(ctx: S3Context) -> web.StreamResponse:
    uid = ctx.query.get("uploadId", "")
    try:
        record = await multipart.upload_record(ctx, uid)
    except S3Error as err:
        return await _already_completed(ctx, uid, err)
    protect = sse.for_part(ctx, record.system) if sse.customer_key(ctx) else None
    wanted = await _wanted(ctx)
    stored = {multipart.row_part_number(r): r async for r in multipart.part_rows(ctx, uid)}
    segs = _pick_parts(ctx, uid, wanted, stored)
    etag = multipart_etag(segs)
    checksum = await _checksum(ctx, uid, record, wanted, segs)
    mpu_checksums.check_object_size(ctx.headers, sum(s.size for s in segs))
    system = {
        k: v
        for k, v in record.system.items()
        if k not in (multipart.ALGORITHM, multipart.CHECKSUM_TYPE, multipart.INITIATOR)
    }
    system.update(manifest.system_entries(segs, etag))
    system[meta.PARTS] = str(len(segs))
    system[multipart.UPLOAD_ID] = uid
    if checksum:
        system[meta.CHECKSUM] = checksum
    total = sum(s.size for s in segs)
    md = ObjectMetadata(
        content_type=segments.manifest_content_type(record.content_type, total, etag, checksum),
        user=record.user,
        attributes=record.attributes,
        system=system,
    )
    await writes.check_write_conditions(ctx)  # the upload stays open when one fails (AWS)
    current = await versioning.current_if_needed(ctx)
    if current is not None and current.system.get(multipart.UPLOAD_ID) == uid:
        current = None  # a concurrent retry already wrote it: its segments are ours
    md = await versioning.before_put(ctx, md, current)
    dest = versioning.destination(ctx, md)
    await ctx.core.put_object(*dest, manifest.encode(segs), md)
    await segment_lock.follow(ctx, *dest, md.system or {})
    await versioning.after_put(ctx, md)
    await segments.after_overwrite(ctx, current)
    await multipart.delete_parts(ctx, uid, keep={w.number for w in wanted})
    await multipart.drop_record(ctx, uid)
    resp = _result(ctx, etag, checksum, (md.system or {}).get(meta.VERSION_ID))
    resp.headers.update(sse.stored_headers(system))
    if protect is not None:  # SSE-C: the key the request proved, echoed as AWS does
        resp.headers.update(protect.headers())
    now = ctx.settings.clock().timestamp()
    resp.headers.update(lifecycle.expiration_headers(ctx, ctx.key, now, total, system))
    return resp

"""Objects: PUT through the writer, GET and HEAD through the reader, DELETE and POST by quorum.

Each operation checks the name, places the object on the object ring and
pairs each replica with the container replica it updates. Reads show a
segmented object whole (``manifest``) unless asked for the manifest itself.
An object's system entries (protocol state such as S3's version id or
checksum) are stored as ``s:<name>`` beside its content attributes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterable, Callable, Mapping
from typing import Any

from objectstore import client as nc
from objectstore.common import retention
from objectstore.proxy import errors, manifest, stored
from objectstore.proxy.containers import Containers
from objectstore.proxy.fanout import Fanout, judge
from objectstore.proxy.models import ObjectInfo, ObjectMetadata, PutResult
from objectstore.proxy.names import MAX_OBJECT_NAME, check_name
from objectstore.proxy.ranges import RangeSpec
from objectstore.proxy.reads import ObjectBody, Reader
from objectstore.proxy.writes import PutTarget, Writer
from objectstore.timestamp import Timestamp
from ring import Ring

_SYSTEM = "s:"


class Objects:
    """The object operations of the core, over one object ring and its containers."""

    def __init__(
        self,
        ring: Ring,
        container_ring: Ring,
        client: nc.NodeClient,
        fan: Fanout,
        containers: Containers,
        reader: Reader,
        writer: Writer,
    ) -> None:
        self.ring = ring
        self.container_ring = container_ring
        self.client = client
        self.fan = fan
        self.containers = containers
        self.reader = reader
        self.writer = writer

    async def put_object(
        self,
        account: str,
        container: str,
        name: str,
        body: AsyncIterable[bytes] | bytes,
        metadata: ObjectMetadata,
        *,
        content_length: int | None = None,
        footer: Callable[[], Mapping[str, str]] | None = None,
    ) -> PutResult:
        """Store an object; ``content_length`` None means read the body to its end.

        ``footer`` gives system entries known only once the body has been
        read (S3's trailing checksum): it is called after the last byte, and
        what it returns is stored with the object, in the same write.
        """
        check_name("object", name, MAX_OBJECT_NAME)
        if content_length is not None and content_length > self.writer.max_object_size:
            raise errors.EntityTooLarge(f"object larger than {self.writer.max_object_size} bytes")
        await self.containers.require(account, container)
        part = self.ring.get_part(account, container, name)
        cpart, cnodes = self.container_ring.get_nodes(account, container)
        target = PutTarget(
            part=part,
            account=account,
            container=container,
            name=name,
            timestamp=metadata.timestamp or Timestamp.now(),
            content_type=metadata.content_type or "application/octet-stream",
            stored=pack_object(metadata.user, metadata.attributes, metadata.system or {}),
            updates=[
                nc.ContainerUpdate(cnodes[i % len(cnodes)], cpart)
                for i in range(self.ring.replica_count)
            ],
            delete_at=metadata.delete_at,
            expected_etag=metadata.etag,
            footer=None if footer is None else lambda: pack_object({}, {}, footer()),
        )
        return await self.writer.put(target, body, content_length)

    async def head_object(
        self, account: str, container: str, name: str, *, newest: bool = False, raw: bool = False
    ) -> ObjectInfo:
        """The newest version's info (ObjectNotFound when absent, deleted or expired).

        A manifest shows the whole segmented object's size and ETag unless ``raw``.
        """
        check_name("object", name, MAX_OBJECT_NAME)
        loc = await self.reader.locate(account, container, name, body=False, newest=newest)
        info = object_info(name, loc.info)
        return info if raw else manifest.present(info)

    async def get_object(
        self,
        account: str,
        container: str,
        name: str,
        ranges: list[RangeSpec] | None = None,
        *,
        newest: bool = False,
        raw: bool = False,
    ) -> tuple[ObjectInfo, ObjectBody | manifest.SegmentedBody]:
        """The newest version and its body (whole, or the satisfiable ``ranges``).

        RangeNotSatisfiable when ranges select nothing. Close the body when done.
        A manifest is read through to its segments unless ``raw``.
        """
        check_name("object", name, MAX_OBJECT_NAME)
        loc = await self.reader.locate(account, container, name, body=True, newest=newest)
        body = ObjectBody(self.reader, (account, container, name), loc, None)
        info = object_info(name, loc.info)
        if not raw and manifest.is_manifest(info.system):
            return await manifest.open_segmented(self, account, info, body, ranges)
        if ranges is not None:
            body.select(ranges)
        return info, body

    async def delete_object(
        self,
        account: str,
        container: str,
        name: str,
        *,
        bypass_retention: bool = False,
        timestamp: Timestamp | None = None,
    ) -> Timestamp:
        """Write a tombstone on a quorum (ObjectNotFound when there was nothing to delete).

        Retained: the version is retained (:mod:`objectstore.common.retention`),
        unless ``bypass_retention`` (a front-end that judged the retention itself:
        S3 moving a version between its containers, or a permitted GOVERNANCE bypass).
        ``timestamp``: the tombstone's time (default now); Conflict when the
        nodes hold a newer version, which this delete then does not remove.
        """
        check_name("object", name, MAX_OBJECT_NAME)
        await self.containers.require(account, container)
        if not bypass_retention:
            await self.require_unretained(account, container, name)
        part, nodes = self.ring.get_nodes(account, container, name)
        cpart, cnodes = self.container_ring.get_nodes(account, container)
        ts = timestamp or Timestamp.now()

        async def delete(dev: Any, slot: int) -> None:
            update = nc.ContainerUpdate(cnodes[slot % len(cnodes)], cpart)
            await self.client.delete_object(
                dev, part, account, container, name, timestamp=ts, container_update=update
            )

        outcome = await self.fan.write(self.ring, part, nodes, delete)
        judge(outcome, errors.ObjectNotFound, tombstone=True)
        return ts

    async def require_unretained(self, account: str, container: str, name: str) -> None:
        """Retained when the object is (:mod:`objectstore.common.retention`): nothing may
        delete or replace it. Free for a container without the retention flag."""
        cinfo = await self.containers.container_info(account, container)
        if cinfo is None or not cinfo.system.get(retention.CONTAINER_FLAG):
            return
        try:
            info = await self.head_object(account, container, name, newest=True, raw=True)
        except errors.NotFound:
            return
        if retention.retained(info.system):
            raise errors.Retained(f"{container}/{name} is retained")

    async def post_object(
        self, account: str, container: str, name: str, metadata: ObjectMetadata
    ) -> Timestamp:
        """Replace user metadata and content attributes (Swift POST semantics).

        ``content_type`` None keeps the type; ``delete_at`` None clears X-Delete-At.
        """
        check_name("object", name, MAX_OBJECT_NAME)
        content_type = metadata.content_type
        system = metadata.system
        if content_type is None or system is None:
            # aiohttp puts "Content-Type: application/octet-stream" on a bodiless
            # POST, which the node would store; until NodeClient.post_object skips
            # that auto header, keep the type by sending the current one.
            # The node replaces the whole map, so system entries are re-sent too.
            now = await self.head_object(account, container, name, raw=True)
            if content_type and manifest.is_manifest(now.system):
                # A manifest's listing row keeps the whole size and ETag (as Swift's POST).
                content_type = manifest.with_listing_params(content_type, now.content_type)
            content_type = content_type or now.content_type
            system = now.system if system is None else system
        part, nodes = self.ring.get_nodes(account, container, name)
        meta = pack_object(metadata.user, metadata.attributes, system)
        ts = Timestamp.now()

        async def post(dev: Any, slot: int) -> None:
            await self.client.post_object(
                dev,
                part,
                account,
                container,
                name,
                timestamp=ts,
                metadata=meta,
                content_type=content_type,
                delete_at=metadata.delete_at,
            )

        judge(await self.fan.write(self.ring, part, nodes, post), errors.ObjectNotFound)
        return ts

    async def copy_object(
        self,
        src: tuple[str, str, str],
        dst: tuple[str, str, str],
        metadata: ObjectMetadata,
        *,
        fresh: bool = False,
        raw: bool = False,
        source: tuple[ObjectInfo, ObjectBody | manifest.SegmentedBody] | None = None,
        part: tuple[AsyncIterable[bytes], int] | None = None,
    ) -> tuple[PutResult, ObjectInfo]:
        """Server-side copy: the source's body streamed into a new PUT.

        Metadata: the source's, updated by ``metadata`` (an empty value drops
        a key); ``fresh`` starts from nothing instead (X-Fresh-Metadata).
        ``raw`` copies a manifest as stored (a new manifest of the same
        segments); ``source`` is the source already opened by the caller (an
        object the front-end presents in its own way). ``part``: what to store
        instead of the whole body (a range of it), its bytes and their count;
        it gets its own checksum. Returns the new object's PutResult and the
        source's info.
        """
        info, body = source if source is not None else await self.get_object(*src, raw=raw)
        try:
            merged = merge_metadata(info, metadata, fresh=fresh, raw=raw)
            chunks, size = part if part is not None else (body.chunks(), info.size)
            if part is not None:
                merged = dataclasses.replace(merged, etag=None)
            result = await self.put_object(*dst, chunks, merged, content_length=size)
        finally:
            body.close()
        return result, info


def merge_metadata(
    src: ObjectInfo, md: ObjectMetadata, *, fresh: bool, raw: bool = False
) -> ObjectMetadata:
    """What a copy stores: the source's metadata updated by the request's.

    A copy of a segmented object holds its bytes: it is no manifest itself,
    unless ``raw`` copies the manifest as stored (its entries, and the
    listing parameters of its content type, stay).
    """
    user = {} if fresh else dict(src.user)
    attrs = {} if fresh else dict(src.attributes)
    keep_manifest = raw and manifest.is_manifest(src.system)
    system = {
        k: v
        for k, v in src.system.items()
        if (keep_manifest or k not in manifest.ENTRIES)
        and not (fresh and k not in manifest.ENTRIES)
    }
    user.update(md.user)
    attrs.update(md.attributes)
    system.update(md.system or {})
    content_type = md.content_type or src.content_type
    if keep_manifest and md.content_type:
        content_type = manifest.with_listing_params(content_type, src.content_type)
    return ObjectMetadata(
        content_type=content_type,
        user={k: v for k, v in user.items() if v != ""},
        attributes={k: v for k, v in attrs.items() if v != ""},
        delete_at=md.delete_at,
        # The bytes of a segmented object shown whole have no stored MD5 to check against.
        etag=src.etag
        if src.manifest_etag is None and (raw or not manifest.is_manifest(src.system))
        else None,
        system={k: v for k, v in system.items() if v != ""},
        timestamp=md.timestamp,
    )


def pack_object(
    user: Mapping[str, str], attributes: Mapping[str, str], system: Mapping[str, str]
) -> dict[str, str]:
    """The node map of an object: user metadata, attributes and ``s:`` system entries."""
    packed = {_SYSTEM + k.lower(): v for k, v in system.items()}
    return stored.pack_set(user, {**attributes, **packed})


def object_info(name: str, raw: nc.ObjectInfo) -> ObjectInfo:
    """The core's view of a node's answer: the map split back into its three parts."""
    user, rest = stored.unpack(raw.metadata)
    attrs = {k: v for k, v in rest.items() if not k.startswith(_SYSTEM)}
    system = {k[len(_SYSTEM) :]: v for k, v in rest.items() if k.startswith(_SYSTEM)}
    return ObjectInfo(
        name=name,
        timestamp=raw.timestamp,
        size=raw.size,
        etag=raw.etag,
        content_type=raw.content_type,
        user=user,
        attributes=attrs,
        delete_at=raw.delete_at,
        meta_timestamp=raw.meta_timestamp,
        system=system,
    )

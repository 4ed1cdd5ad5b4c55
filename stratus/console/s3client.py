"""The S3 API as one user, for what only S3 has: object versions and tags.

Requests are signed (SigV4) with the user's S3 credential, so the S3 API
checks the user's rights as for any S3 client; responses are parsed with
defusedxml. Used by the object pages when the user has an S3 credential.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

import aiohttp
from defusedxml import ElementTree

from .presign import canonical_query, s3_path, sign_request
from .services import ServiceError, Services, send

NS = "http://s3.amazonaws.com/doc/2006-03-01/"


@dataclass(frozen=True)
class Version:
    version_id: str
    latest: bool
    size: int
    last_modified: str
    etag: str
    delete_marker: bool = False


def _text(el: Element, name: str) -> str:
    found = el.find(f"{{*}}{name}")
    return (found.text or "") if found is not None else ""


def s3_error(resp: aiohttp.ClientResponse, body: bytes) -> ServiceError:
    """An S3 error answer in the page's words: the XML error's message (or code)."""
    message = "your role does not allow this" if resp.status == 403 else f"S3 error {resp.status}"
    try:
        root = ElementTree.fromstring(body)
        message = _text(root, "Message") or _text(root, "Code") or message
    except Exception:
        pass
    return ServiceError(resp.status, message)


class S3Client:
    """Signed calls to the S3 API as the holder of one access key."""

    def __init__(self, services: Services, access: str, secret: str) -> None:
        self.services = services
        self.access = access
        self.secret = secret
        # Signed paths go out as signed; the whole error body is read for its XML message.
        self.api = services.client(
            services.endpoints.s3, errors=s3_error, encoded=True, error_body=None
        )

    async def _call(self, *args: Any, **kw: Any) -> bytes:
        return (await self._send(*args, **kw))[1]

    async def _send(
        self,
        method: str,
        bucket: str,
        key: str = "",
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        stream: Any = None,
    ) -> tuple[dict[str, str], bytes]:
        ep = self.services.endpoints
        path = s3_path(bucket, key)
        params = dict(params or {})
        signed = sign_request(
            method,
            ep.s3,
            path,
            params,
            headers or {},
            body,
            access=self.access,
            secret=self.secret,
            region=ep.s3_region,
            unsigned_payload=stream is not None,
        )
        query = canonical_query(params)
        target = path + (f"?{query}" if query else "")
        data = stream if stream is not None else (body or None)
        reply = await send(self.api, method, target, what="the S3 API", headers=signed, data=data)
        return dict(reply.headers), reply.body

    async def versioning(self, bucket: str) -> str:
        """``Enabled``, ``Suspended`` or "" (never enabled)."""
        root = ElementTree.fromstring(await self._call("GET", bucket, params={"versioning": ""}))
        return _text(root, "Status")

    async def set_versioning(self, bucket: str, enabled: bool) -> None:
        status = "Enabled" if enabled else "Suspended"
        body = (
            f'<VersioningConfiguration xmlns="{NS}"><Status>{status}</Status>'
            "</VersioningConfiguration>"
        ).encode()
        await self._call("PUT", bucket, params={"versioning": ""}, headers=_md5(body), body=body)

    async def versions(self, bucket: str, key: str, limit: int = 100) -> list[Version]:
        """The key's versions, newest first (one page of at most ``limit``)."""
        params = {"versions": "", "prefix": key, "max-keys": str(limit)}
        root = ElementTree.fromstring(await self._call("GET", bucket, params=params))
        out = []
        for el in root:
            kind = el.tag.rsplit("}", 1)[-1]
            if kind not in ("Version", "DeleteMarker") or _text(el, "Key") != key:
                continue
            out.append(
                Version(
                    version_id=_text(el, "VersionId"),
                    latest=_text(el, "IsLatest") == "true",
                    size=int(_text(el, "Size") or 0),
                    last_modified=_text(el, "LastModified"),
                    etag=_text(el, "ETag").strip('"'),
                    delete_marker=kind == "DeleteMarker",
                )
            )
        return out

    async def restore(self, bucket: str, key: str, version_id: str) -> None:
        """Make ``version_id`` the current version again (a copy onto the key, as in AWS)."""
        found, _ = await self._send("HEAD", bucket, key, {"versionId": version_id})
        # The version's own type and metadata, given again: a copy onto the same key must
        # "change" something (REPLACE) for the S3 API to accept it.
        headers = {
            k: v
            for k, v in found.items()
            if k.lower().startswith("x-amz-meta-") or k.lower() == "content-type"
        }
        source = f"/{quote(bucket, safe='')}/{quote(key, safe='/')}?versionId={quote(version_id)}"
        headers["x-amz-copy-source"] = source
        headers["x-amz-metadata-directive"] = "REPLACE"
        await self._call("PUT", bucket, key, headers=headers)

    async def put_object(
        self, bucket: str, key: str, body: AsyncIterator[bytes], length: int, content_type: str
    ) -> None:
        """Stream an object in through S3 (so a versioned bucket keeps the version it replaces)."""
        headers = {"Content-Length": str(length), "Content-Type": content_type}
        await self._call("PUT", bucket, key, headers=headers, stream=body)

    async def start_multipart(self, bucket: str, key: str, content_type: str) -> str:
        """A new multipart upload of ``key``; its upload id."""
        data = await self._call(
            "POST", bucket, key, {"uploads": ""}, headers={"Content-Type": content_type}
        )
        return _text(ElementTree.fromstring(data), "UploadId")

    async def list_parts(self, bucket: str, key: str, upload_id: str) -> list[tuple[int, int, str]]:
        """(part number, size, ETag) of the parts uploaded so far (up to 1,000)."""
        params = {"uploadId": upload_id, "max-parts": "1000"}
        root = ElementTree.fromstring(await self._call("GET", bucket, key, params))
        return [
            (int(_text(p, "PartNumber")), int(_text(p, "Size")), _text(p, "ETag"))
            for p in root.iter()
            if p.tag.rsplit("}", 1)[-1] == "Part"
        ]

    async def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        number: int,
        body: AsyncIterator[bytes],
        length: int,
    ) -> str:
        """Stream one part in; its ETag."""
        params = {"uploadId": upload_id, "partNumber": str(number)}
        got, _ = await self._send(
            "PUT", bucket, key, params, headers={"Content-Length": str(length)}, stream=body
        )
        return got.get("ETag", "")

    async def complete_multipart(
        self, bucket: str, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> None:
        items = "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>{escape(etag)}</ETag></Part>"
            for n, etag in parts
        )
        body = f'<CompleteMultipartUpload xmlns="{NS}">{items}</CompleteMultipartUpload>'.encode()
        data = await self._call(
            "POST", bucket, key, {"uploadId": upload_id}, headers=_md5(body), body=body
        )
        root = ElementTree.fromstring(data)  # an error can come with a 200 (as in AWS)
        if root.tag.rsplit("}", 1)[-1] == "Error":
            raise ServiceError(500, _text(root, "Message") or "the upload did not complete")

    async def delete_object(self, bucket: str, key: str) -> None:
        """Delete through S3: in a versioned bucket, a delete marker (the data stays)."""
        await self._call("DELETE", bucket, key)

    async def tags(self, bucket: str, key: str) -> list[tuple[str, str]]:
        root = ElementTree.fromstring(await self._call("GET", bucket, key, {"tagging": ""}))
        return [
            (_text(t, "Key"), _text(t, "Value"))
            for t in root.iter()
            if t.tag.rsplit("}", 1)[-1] == "Tag"
        ]

    async def set_tags(self, bucket: str, key: str, tags: list[tuple[str, str]]) -> None:
        if not tags:
            await self._call("DELETE", bucket, key, {"tagging": ""})
            return
        items = "".join(
            f"<Tag><Key>{escape(k)}</Key><Value>{escape(v)}</Value></Tag>" for k, v in tags
        )
        body = f'<Tagging xmlns="{NS}"><TagSet>{items}</TagSet></Tagging>'.encode()
        await self._call("PUT", bucket, key, {"tagging": ""}, headers=_md5(body), body=body)


def _md5(body: bytes) -> dict[str, Any]:
    digest = hashlib.md5(body).digest()
    return {"Content-MD5": base64.b64encode(digest).decode(), "Content-Type": "application/xml"}

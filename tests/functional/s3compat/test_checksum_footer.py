"""A checksum known only at the end of a streamed body is stored by the PUT itself.

Before, such a checksum (an aws-chunked trailer, or one the server computes
while streaming) was attached by a metadata POST after the PUT: two fan-outs,
and a moment when the object existed without its checksum. Now it is the
write's footer, sent after the body and committed with the object.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Any

import pytest

from tests.functional.s3compat.conftest import S3Cluster

BIG = b"streamed " * 50_000  # past the in-memory prefix: the body streams to the nodes


def _spy(cluster: S3Cluster, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple]]:
    """Every object PUT and POST the proxy sends to a storage node, with its arguments."""
    calls: list[tuple[str, tuple]] = []
    client = cluster.core.client
    for name in ("put_object", "post_object"):
        real = getattr(client, name)

        async def spy(*args: Any, _real: Any = real, _name: str = name, **kw: Any) -> Any:
            calls.append((_name, args))
            return await _real(*args, **kw)

        monkeypatch.setattr(client, name, spy)
    return calls


def _replicas(cluster: S3Cluster, calls: list[tuple[str, tuple]]) -> list[Any]:
    """What each node that took the PUT now holds."""

    async def heads() -> list[Any]:
        return [await cluster.core.client.head_object(*args[:5]) for _name, args in calls]

    return cluster.run(heads())


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_a_trailing_checksum_is_stored_with_the_object(
    s3_cluster: S3Cluster, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = s3_cluster.client(tls=True)  # over HTTPS boto3 streams aws-chunked with a CRC32 trailer
    sent: list[dict[str, str]] = []
    s3.meta.events.register(
        "before-send.s3.PutObject", lambda request, **kw: sent.append(dict(request.headers))
    )
    calls = _spy(s3_cluster, monkeypatch)
    s3.put_object(Bucket=bucket, Key="big", Body=BIG)
    trailer = {k.lower(): v for k, v in sent[0].items()}["x-amz-trailer"]
    assert trailer in ("x-amz-checksum-crc32", b"x-amz-checksum-crc32")
    assert [name for name, _args in calls] == ["put_object"] * 3  # one write, no POST
    crc = base64.b64encode(zlib.crc32(BIG).to_bytes(4, "big")).decode()
    for replica in _replicas(s3_cluster, calls):
        assert replica.metadata["s:s3-checksum"] == f"CRC32:{crc}"
        assert replica.meta_timestamp is None  # no metadata update ever followed the PUT
    got = s3.get_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == crc and got["Body"].read() == BIG


def test_a_checksum_computed_while_streaming_is_stored_with_the_object(
    s3_cluster: S3Cluster, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = s3_cluster.client()
    calls = _spy(s3_cluster, monkeypatch)
    s3.put_object(Bucket=bucket, Key="big", Body=BIG, ChecksumAlgorithm="SHA256")
    assert [name for name, _args in calls] == ["put_object"] * 3
    sha = base64.b64encode(hashlib.sha256(BIG).digest()).decode()
    for replica in _replicas(s3_cluster, calls):
        assert replica.metadata["s:s3-checksum"] == f"SHA256:{sha}"
        assert replica.meta_timestamp is None
    head = s3.head_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == sha


def test_a_part_keeps_its_streamed_checksum(
    s3_cluster: S3Cluster, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = s3_cluster.client()
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", ChecksumAlgorithm="CRC32")
    calls = _spy(s3_cluster, monkeypatch)
    part = s3.upload_part(
        Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=BIG,
        ChecksumAlgorithm="CRC32",
    )  # fmt: skip
    assert [name for name, _args in calls] == ["put_object"] * 3
    crc = base64.b64encode(zlib.crc32(BIG).to_bytes(4, "big")).decode()
    assert part["ChecksumCRC32"] == crc
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"], "ChecksumCRC32": crc}]},
    )  # fmt: skip
    assert done["ETag"]
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == BIG

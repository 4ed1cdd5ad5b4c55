"""Server-side encryption through boto3: SSE-C, SSE-S3 and bucket default encryption.

Against the session's real cluster (three storage nodes on loopback). SSE-C
goes over the cluster's TLS endpoint, as AWS requires. The storage nodes'
files (bodies and LMDB indexes, container databases included) are searched
for the plaintext and for the customer's key: neither may be there.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from s3compat import sse_keys
from tests.functional.s3compat.conftest import MiB, S3Cluster

# Random per run: a pattern such as bytes(range(32)) is also what other tests store in
# the clear, and the on-disk scan must find the key only where it leaked.
KEY = os.urandom(32)
OTHER = os.urandom(32)
C = "x-amz-server-side-encryption-customer-"


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def _message(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"].get("Message", "")


def _status(exc: pytest.ExceptionInfo[ClientError]) -> int:
    return exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def ssec(key: bytes = KEY, prefix: str = "") -> dict[str, Any]:
    """boto3's own SSE-C parameters (it adds the key's MD5 itself)."""
    return {f"{prefix}SSECustomerAlgorithm": "AES256", f"{prefix}SSECustomerKey": key}


def _headers(key: bytes) -> dict[str, str]:
    md5 = base64.b64encode(hashlib.md5(key).digest()).decode()
    return {
        C + "algorithm": "AES256",
        C + "key": base64.b64encode(key).decode(),
        C + "key-MD5": md5,
    }


def marker(tag: str, size: int) -> bytes:
    """A plaintext no stored byte string holds by chance: a random line repeated."""
    line = f"SSE-PLAINTEXT-{tag}-{os.urandom(8).hex()}|".encode()
    return (line * (size // len(line) + 1))[:size]


@pytest.fixture
def tls(s3_cluster: S3Cluster) -> Any:
    return s3_cluster.client("alice", tls=True)


@pytest.fixture
def ebucket(tls: Any, bucket_name: str) -> Iterator[str]:
    tls.create_bucket(Bucket=bucket_name)
    yield bucket_name


def _with_headers(client: Any, op: str, headers: dict[str, str | None]) -> None:
    """Set (or drop, for None) request headers of ``op`` before boto3 signs them."""

    def edit(request: Any, **_: Any) -> None:
        for name, value in headers.items():
            if name in request.headers:
                del request.headers[name]
            if value is not None:
                request.headers[name] = value

    client.meta.events.register(f"before-sign.s3.{op}", edit)


def _stored_files(cluster: S3Cluster) -> Iterator[Path]:
    for node in sorted(cluster.root.glob("node*")):
        for path in node.rglob("*"):
            if path.is_file():
                yield path


def _on_disk(cluster: S3Cluster, needles: list[bytes]) -> set[bytes]:
    """Which of ``needles`` some node file (object body, LMDB index or database) holds."""
    found: set[bytes] = set()
    for path in _stored_files(cluster):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        found.update(n for n in needles if n in data)
    return found


# --- SSE-C ---------------------------------------------------------------------------------


def test_ssec_round_trip_and_headers(tls: Any, ebucket: str) -> None:
    data = marker("rt", 1000)
    put = tls.put_object(Bucket=ebucket, Key="o", Body=data, **ssec())
    assert put["SSECustomerAlgorithm"] == "AES256"
    assert put["SSECustomerKeyMD5"] == base64.b64encode(hashlib.md5(KEY).digest()).decode()
    assert put["ETag"].strip('"') != hashlib.md5(data).hexdigest()  # not the plaintext's MD5
    got = tls.get_object(Bucket=ebucket, Key="o", **ssec())
    assert got["Body"].read() == data
    assert got["SSECustomerKeyMD5"] == put["SSECustomerKeyMD5"]
    assert got["ETag"] == put["ETag"]
    head = tls.head_object(Bucket=ebucket, Key="o", **ssec())
    assert head["ContentLength"] == len(data)
    assert head["SSECustomerAlgorithm"] == "AES256"
    listed = tls.list_objects_v2(Bucket=ebucket)["Contents"]
    assert [(o["Key"], o["Size"], o["ETag"]) for o in listed] == [("o", len(data), put["ETag"])]


def test_ssec_missing_and_wrong_key(tls: Any, ebucket: str) -> None:
    tls.put_object(Bucket=ebucket, Key="o", Body=b"secret", **ssec())
    with pytest.raises(ClientError) as exc:
        tls.get_object(Bucket=ebucket, Key="o")
    assert (_status(exc), _code(exc)) == (400, "InvalidRequest")
    assert _message(exc) == (
        "The object was stored using a form of Server Side Encryption. The correct "
        "parameters must be provided to retrieve the object."
    )
    with pytest.raises(ClientError) as exc:
        tls.head_object(Bucket=ebucket, Key="o")
    assert _status(exc) == 400
    with pytest.raises(ClientError) as exc:
        tls.get_object(Bucket=ebucket, Key="o", **ssec(OTHER))
    assert (_status(exc), _code(exc)) == (403, "AccessDenied")
    with pytest.raises(ClientError) as exc:
        tls.head_object(Bucket=ebucket, Key="o", **ssec(OTHER))
    assert _status(exc) == 403
    with pytest.raises(ClientError) as exc:
        tls.get_object_attributes(Bucket=ebucket, Key="o", ObjectAttributes=["ObjectSize"])
    assert _code(exc) == "InvalidRequest"
    _with_headers(tls, "GetObjectAttributes", {**_headers(KEY)})
    attrs = tls.get_object_attributes(Bucket=ebucket, Key="o", ObjectAttributes=["ObjectSize"])
    assert attrs["ObjectSize"] == len(b"secret")
    tls.put_object(Bucket=ebucket, Key="plain", Body=b"x")
    with pytest.raises(ClientError) as exc:
        tls.get_object(Bucket=ebucket, Key="plain", **ssec())
    assert (_code(exc), _message(exc)) == (
        "InvalidRequest",
        "The encryption parameters are not applicable to this object.",
    )


@pytest.mark.parametrize(
    ("headers", "code", "message"),
    [
        (
            {C + "algorithm": None},
            "InvalidArgument",
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide a valid encryption algorithm.",
        ),
        (
            {C + "algorithm": "AES128"},
            "InvalidEncryptionAlgorithmError",
            "The encryption request that you specified is not valid. The valid value is AES256.",
        ),
        (
            {C + "key": None},
            "InvalidArgument",
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide an appropriate secret key.",
        ),
        (
            {C + "key": base64.b64encode(b"short").decode()},
            "InvalidArgument",
            "The secret key was invalid for the specified algorithm.",
        ),
        (
            {C + "key-MD5": None},
            "InvalidArgument",
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide the client calculated MD5 of the secret key.",
        ),
        (
            {C + "key-MD5": base64.b64encode(hashlib.md5(OTHER).digest()).decode()},
            "InvalidArgument",
            "The calculated MD5 hash of the key did not match the hash that was provided.",
        ),
        (
            {"x-amz-server-side-encryption": "AES256"},
            "InvalidArgument",
            "Server Side Encryption with Customer provided key is incompatible with the "
            "encryption method specified",
        ),
    ],
)
def test_ssec_header_errors(
    s3_cluster: S3Cluster, ebucket: str, headers: dict[str, str | None], code: str, message: str
) -> None:
    client = s3_cluster.client("alice", tls=True)
    _with_headers(client, "PutObject", {**_headers(KEY), **headers})
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket=ebucket, Key="bad", Body=b"x")
    assert (_status(exc), _code(exc), _message(exc)) == (400, code, message)


def test_ssec_refused_over_plain_http(s3: Any, tls: Any, ebucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=ebucket, Key="o", Body=b"x", **ssec())
    assert (_status(exc), _code(exc)) == (400, "InvalidRequest")
    assert "must be made over a secure connection" in _message(exc)
    tls.put_object(Bucket=ebucket, Key="o", Body=b"x", **ssec())
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=ebucket, Key="o", **ssec())
    assert _code(exc) == "InvalidRequest"


@pytest.mark.parametrize("size", [1000, 700_000])  # one buffered body, one streamed
def test_ssec_ranges(tls: Any, ebucket: str, size: int) -> None:
    data = os.urandom(size)
    tls.put_object(Bucket=ebucket, Key="r", Body=data, **ssec())
    for first, last in [(0, 0), (1, 17), (15, 16), (17, 33), (size - 100, size - 1)]:
        got = tls.get_object(Bucket=ebucket, Key="r", Range=f"bytes={first}-{last}", **ssec())
        assert got["Body"].read() == data[first : last + 1], (first, last)
        assert got["ContentRange"] == f"bytes {first}-{last}/{size}"
    got = tls.get_object(Bucket=ebucket, Key="r", Range="bytes=-33", **ssec())
    assert got["Body"].read() == data[-33:]


def test_ssec_multipart(tls: Any, ebucket: str) -> None:
    parts_data = [os.urandom(5 * MiB + 7), os.urandom(1234)]
    up = tls.create_multipart_upload(Bucket=ebucket, Key="mp", **ssec())
    assert up["SSECustomerAlgorithm"] == "AES256"
    uid = up["UploadId"]
    with pytest.raises(ClientError) as exc:
        tls.upload_part(Bucket=ebucket, Key="mp", UploadId=uid, PartNumber=1, Body=b"x")
    assert (_code(exc), _message(exc)) == (
        "InvalidRequest",
        "The multipart upload initiate requested encryption. Subsequent part requests must "
        "include the appropriate encryption parameters.",
    )
    with pytest.raises(ClientError) as exc:
        tls.upload_part(
            Bucket=ebucket, Key="mp", UploadId=uid, PartNumber=1, Body=b"x", **ssec(OTHER)
        )
    assert (_code(exc), _message(exc)) == (
        "InvalidRequest",
        "The provided encryption parameters did not match the ones used originally.",
    )
    etags = []
    for n, body in enumerate(parts_data, 1):
        part = tls.upload_part(
            Bucket=ebucket, Key="mp", UploadId=uid, PartNumber=n, Body=body, **ssec()
        )
        assert part["SSECustomerAlgorithm"] == "AES256"
        etags.append({"PartNumber": n, "ETag": part["ETag"]})
    listed = tls.list_parts(Bucket=ebucket, Key="mp", UploadId=uid)["Parts"]
    assert [p["Size"] for p in listed] == [len(b) for b in parts_data]
    tls.complete_multipart_upload(
        Bucket=ebucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": etags}
    )
    whole = b"".join(parts_data)
    assert tls.get_object(Bucket=ebucket, Key="mp", **ssec())["Body"].read() == whole
    edge = len(parts_data[0])
    got = tls.get_object(Bucket=ebucket, Key="mp", Range=f"bytes={edge - 5}-{edge + 20}", **ssec())
    assert got["Body"].read() == whole[edge - 5 : edge + 21]
    got = tls.get_object(Bucket=ebucket, Key="mp", PartNumber=2, **ssec())
    assert got["Body"].read() == parts_data[1]
    with pytest.raises(ClientError) as exc:
        tls.get_object(Bucket=ebucket, Key="mp")
    assert _code(exc) == "InvalidRequest"
    with pytest.raises(ClientError) as exc:
        tls.head_object(Bucket=ebucket, Key="mp", **ssec(OTHER))
    assert _status(exc) == 403


def test_ssec_copies(tls: Any, ebucket: str) -> None:
    data = marker("copy", 300_000)
    tls.put_object(Bucket=ebucket, Key="src", Body=data, **ssec())
    src = {"Bucket": ebucket, "Key": "src"}
    with pytest.raises(ClientError) as exc:
        tls.copy_object(Bucket=ebucket, Key="dst", CopySource=src)
    assert _code(exc) == "InvalidRequest"
    with pytest.raises(ClientError) as exc:
        tls.copy_object(Bucket=ebucket, Key="dst", CopySource=src, **ssec(OTHER, "CopySource"))
    assert _status(exc) == 403
    # SSE-C source -> SSE-C destination under another key
    out = tls.copy_object(
        Bucket=ebucket, Key="dst", CopySource=src, **ssec(KEY, "CopySource"), **ssec(OTHER)
    )
    assert out["SSECustomerAlgorithm"] == "AES256"
    assert tls.get_object(Bucket=ebucket, Key="dst", **ssec(OTHER))["Body"].read() == data
    with pytest.raises(ClientError) as exc:
        tls.get_object(Bucket=ebucket, Key="dst", **ssec(KEY))
    assert _status(exc) == 403
    # SSE-C source -> plain destination; plain -> SSE-S3
    tls.copy_object(Bucket=ebucket, Key="plain", CopySource=src, **ssec(KEY, "CopySource"))
    assert tls.get_object(Bucket=ebucket, Key="plain")["Body"].read() == data
    out = tls.copy_object(
        Bucket=ebucket,
        Key="s3",
        CopySource={"Bucket": ebucket, "Key": "plain"},
        ServerSideEncryption="AES256",
    )
    assert out["ServerSideEncryption"] == "AES256"
    assert tls.get_object(Bucket=ebucket, Key="s3")["Body"].read() == data
    # onto itself, changing the key (AWS allows it: the encryption changes)
    tls.copy_object(
        Bucket=ebucket, Key="src", CopySource=src, **ssec(KEY, "CopySource"), **ssec(OTHER)
    )
    assert tls.get_object(Bucket=ebucket, Key="src", **ssec(OTHER))["Body"].read() == data


def test_upload_part_copy_between_encryptions(tls: Any, ebucket: str) -> None:
    first = os.urandom(5 * MiB)
    tls.put_object(Bucket=ebucket, Key="a", Body=first, **ssec())
    tls.put_object(Bucket=ebucket, Key="b", Body=b"tail-bytes", ServerSideEncryption="AES256")
    uid = tls.create_multipart_upload(Bucket=ebucket, Key="m", **ssec(OTHER))["UploadId"]
    p1 = tls.upload_part_copy(
        Bucket=ebucket,
        Key="m",
        UploadId=uid,
        PartNumber=1,
        CopySource={"Bucket": ebucket, "Key": "a"},
        **ssec(KEY, "CopySource"),
        **ssec(OTHER),
    )
    p2 = tls.upload_part_copy(
        Bucket=ebucket,
        Key="m",
        UploadId=uid,
        PartNumber=2,
        CopySource={"Bucket": ebucket, "Key": "b"},
        CopySourceRange="bytes=5-9",
        **ssec(OTHER),
    )
    parts = [
        {"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]},
        {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]},
    ]
    tls.complete_multipart_upload(
        Bucket=ebucket, Key="m", UploadId=uid, MultipartUpload={"Parts": parts}
    )
    got = tls.get_object(Bucket=ebucket, Key="m", **ssec(OTHER))["Body"].read()
    assert got == first + b"bytes"


# --- SSE-S3 and bucket defaults ------------------------------------------------------------


def test_sse_s3_round_trip_and_refusals(s3: Any, bucket: str) -> None:
    data = os.urandom(300_000)
    put = s3.put_object(Bucket=bucket, Key="o", Body=data, ServerSideEncryption="AES256")
    assert put["ServerSideEncryption"] == "AES256"
    head = s3.head_object(Bucket=bucket, Key="o")
    assert (head["ServerSideEncryption"], head["ContentLength"]) == ("AES256", len(data))
    assert s3.get_object(Bucket=bucket, Key="o")["Body"].read() == data
    got = s3.get_object(Bucket=bucket, Key="o", Range="bytes=1000-2000")
    assert got["Body"].read() == data[1000:2001]
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms")
    assert (_status(exc), _code(exc)) == (501, "NotImplemented")
    client = s3
    _with_headers(client, "PutObject", {"x-amz-server-side-encryption": "AES512"})
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert (_code(exc), _message(exc)) == (
        "InvalidArgument",
        "The encryption method specified is not supported",
    )


def test_sse_s3_multipart(s3: Any, bucket: str) -> None:
    parts_data = [os.urandom(5 * MiB), os.urandom(100)]
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", ServerSideEncryption="AES256")
    assert up["ServerSideEncryption"] == "AES256"
    etags = []
    for n, body in enumerate(parts_data, 1):
        part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=n,
                              Body=body)  # fmt: skip
        assert part["ServerSideEncryption"] == "AES256"
        etags.append({"PartNumber": n, "ETag": part["ETag"]})
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=up["UploadId"], MultipartUpload={"Parts": etags}
    )
    assert done["ServerSideEncryption"] == "AES256"
    whole = b"".join(parts_data)
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == whole
    got = s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={5 * MiB - 3}-{5 * MiB + 3}")
    assert got["Body"].read() == whole[5 * MiB - 3 : 5 * MiB + 4]


def test_bucket_encryption(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_encryption(Bucket=bucket)
    assert (_status(exc), _code(exc)) == (404, "ServerSideEncryptionConfigurationNotFoundError")
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [rule]})
    got = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert got["Rules"] == [{**rule, "BucketKeyEnabled": False}]
    put = s3.put_object(Bucket=bucket, Key="d", Body=b"defaulted")
    assert put["ServerSideEncryption"] == "AES256"
    assert s3.head_object(Bucket=bucket, Key="d")["ServerSideEncryption"] == "AES256"
    kms = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [kms]})
    assert _code(exc) == "NotImplemented"
    s3.delete_bucket_encryption(Bucket=bucket)
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_encryption(Bucket=bucket)
    assert _code(exc) == "ServerSideEncryptionConfigurationNotFoundError"
    assert "ServerSideEncryption" not in s3.put_object(Bucket=bucket, Key="p", Body=b"plain")
    assert s3.get_object(Bucket=bucket, Key="d")["Body"].read() == b"defaulted"


def test_bucket_encryption_owner_only(s3_cluster: S3Cluster, bucket: str) -> None:
    bob = s3_cluster.client("bob")
    with pytest.raises(ClientError) as exc:
        bob.get_bucket_encryption(Bucket=bucket)
    assert _code(exc) == "AccessDenied"


# --- what is stored ------------------------------------------------------------------------


def test_no_plaintext_and_no_key_on_disk(
    s3_cluster: S3Cluster, s3: Any, tls: Any, ebucket: str
) -> None:
    small, large, s3data, plain = (
        marker("ssec-small", 2000),
        marker("ssec-large", 600_000),
        marker("sse-s3", 2000),
        marker("plain", 2000),
    )
    tls.put_object(Bucket=ebucket, Key="small", Body=small, **ssec())
    tls.put_object(Bucket=ebucket, Key="large", Body=large, **ssec())
    s3.put_object(Bucket=ebucket, Key="s3", Body=s3data, ServerSideEncryption="AES256")
    s3.put_object(Bucket=ebucket, Key="plain", Body=plain)
    up = tls.create_multipart_upload(Bucket=ebucket, Key="mp", **ssec())
    tls.upload_part(Bucket=ebucket, Key="mp", UploadId=up["UploadId"], PartNumber=1,
                    Body=small, **ssec())  # fmt: skip
    needles = [
        small[:64],
        large[:64],
        s3data[:64],
        plain[:64],
        KEY,
        base64.b64encode(KEY),
        hashlib.md5(KEY).digest(),
        base64.b64encode(hashlib.md5(KEY).digest()),
    ]
    found = _on_disk(s3_cluster, needles)
    assert plain[:64] in found  # the search sees what is stored in the clear
    assert found == {plain[:64]}


def test_key_file_and_rotation(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="old", Body=b"old bytes", ServerSideEncryption="AES256")
    path = sse_keys.path_for(s3_cluster.config)
    assert path.parent == s3_cluster.root
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ring = sse_keys.KeyRing(path)
    active, ids = ring.describe()
    new_id = ring.rotate()
    assert new_id not in ids and ring.describe() == (new_id, [*ids, new_id])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    s3.put_object(Bucket=bucket, Key="new", Body=b"new bytes", ServerSideEncryption="AES256")
    wrapped = _system(s3_cluster, bucket, "new")["s3-sse-key"]
    assert wrapped.startswith(f"{new_id}:")
    assert _system(s3_cluster, bucket, "old")["s3-sse-key"].startswith(f"{active}:")
    assert s3.get_object(Bucket=bucket, Key="old")["Body"].read() == b"old bytes"
    assert s3.get_object(Bucket=bucket, Key="new")["Body"].read() == b"new bytes"


def _system(cluster: S3Cluster, bucket: str, key: str) -> dict[str, str]:
    info = cluster.run(cluster.core.head_object("AUTH_alpha", bucket, key))
    return info.system


def test_ssec_key_never_in_system_metadata(s3_cluster: S3Cluster, tls: Any, ebucket: str) -> None:
    tls.put_object(Bucket=ebucket, Key="o", Body=b"x", **ssec())
    system = _system(s3_cluster, ebucket, "o")
    assert system["s3-sse"] == "SSE-C"
    text = repr(system)
    forbidden: list[Callable[[bytes], bytes]] = [
        lambda k: base64.b64encode(k),
        lambda k: base64.b64encode(hashlib.md5(k).digest()),
        lambda k: hashlib.md5(k).hexdigest().encode(),
    ]
    assert not any(f(KEY).decode() in text for f in forbidden)


def test_native_api_refuses_sealed_bytes(
    s3_cluster: S3Cluster, s3: Any, tls: Any, ebucket: str
) -> None:
    """The native API holds no key: it shows an encrypted object's metadata, never its bytes."""
    import swiftclient

    tls.put_object(Bucket=ebucket, Key="c", Body=b"customer", **ssec())
    s3.put_object(Bucket=ebucket, Key="s", Body=b"cluster", ServerSideEncryption="AES256")
    up = s3.create_multipart_upload(Bucket=ebucket, Key="m", ServerSideEncryption="AES256")
    part = s3.upload_part(Bucket=ebucket, Key="m", UploadId=up["UploadId"], PartNumber=1,
                          Body=b"part")  # fmt: skip
    s3.complete_multipart_upload(
        Bucket=ebucket,
        Key="m",
        UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    s3.put_object(Bucket=ebucket, Key="p", Body=b"plain")
    alice = s3_cluster.users["alice"]
    conn = swiftclient.Connection(
        authurl=s3_cluster.auth_url, user="alpha:alice", key=alice.key, retries=0
    )
    try:
        assert conn.get_object(ebucket, "p")[1] == b"plain"
        for name, size in (("c", 8), ("s", 7), ("m", 4)):
            assert int(conn.head_object(ebucket, name)["content-length"]) == size
            with pytest.raises(swiftclient.ClientException) as exc:
                conn.get_object(ebucket, name)
            assert exc.value.http_status == 403, name
            with pytest.raises(swiftclient.ClientException) as exc:
                conn.copy_object(ebucket, name, f"/{ebucket}/copy-{name}")
            assert exc.value.http_status == 403, name
    finally:
        conn.close()


def test_versions_keep_their_encryption(tls: Any, ebucket: str) -> None:
    tls.put_bucket_versioning(Bucket=ebucket, VersioningConfiguration={"Status": "Enabled"})
    first = tls.put_object(Bucket=ebucket, Key="v", Body=b"first", **ssec())
    tls.put_object(Bucket=ebucket, Key="v", Body=b"second", **ssec(OTHER))
    got = tls.get_object(Bucket=ebucket, Key="v", VersionId=first["VersionId"], **ssec())
    assert got["Body"].read() == b"first"
    assert tls.get_object(Bucket=ebucket, Key="v", **ssec(OTHER))["Body"].read() == b"second"
    with pytest.raises(ClientError) as exc:
        tls.get_object(Bucket=ebucket, Key="v", VersionId=first["VersionId"], **ssec(OTHER))
    assert _status(exc) == 403

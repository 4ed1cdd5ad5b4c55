"""409 ConditionalRequestConflict: a conditional write while another write of its key runs."""

from __future__ import annotations

import http.client
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from s3compat import inflight
from tests.functional.s3compat import rawsign
from tests.functional.s3compat.conftest import S3Cluster, upload_parts


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    err = exc.value.response
    return err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"]


class SlowPut:
    """A PutObject whose body arrives in two halves, the second when the test says."""

    def __init__(self, cluster: S3Cluster, bucket: str, key: str, data: bytes) -> None:
        alice = cluster.users["alice"]
        host = f"127.0.0.1:{cluster.port}"
        signed = rawsign.sign(
            "PUT", host, f"/{bucket}/{key}", alice.access, alice.secret,
            payload_hash="UNSIGNED-PAYLOAD",
        )  # fmt: skip
        self.conn = http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=30)
        self.conn.putrequest("PUT", f"/{bucket}/{key}", skip_host=True, skip_accept_encoding=True)
        for name, value in {**signed.headers, "content-length": str(len(data))}.items():
            self.conn.putheader(name, value)
        self.conn.endheaders()
        self.data = data
        self.conn.send(data[: len(data) // 2])
        deadline = time.monotonic() + 10
        while inflight.running("AUTH_alpha", bucket, key) == 0:  # the server has it in hand
            assert time.monotonic() < deadline, "the slow PUT never reached its handler"
            time.sleep(0.01)

    def finish(self) -> int:
        self.conn.send(self.data[len(self.data) // 2 :])
        resp = self.conn.getresponse()
        resp.read()
        self.conn.close()
        return resp.status


def test_conditional_put_racing_another_put(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    slow = SlowPut(s3_cluster, bucket, "k", b"first" * 1000)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"second", IfNoneMatch="*")
    assert _code(exc) == (409, "ConditionalRequestConflict")
    s3.put_object(Bucket=bucket, Key="other", Body=b"x", IfNoneMatch="*")  # another key: fine
    s3.put_object(Bucket=bucket, Key="k2", Body=b"x")  # unconditional writes are not held
    assert slow.finish() == 200
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"first" * 1000
    with pytest.raises(ClientError) as exc:  # once it is done, the condition is judged
        s3.put_object(Bucket=bucket, Key="k", Body=b"second", IfNoneMatch="*")
    assert _code(exc) == (412, "PreconditionFailed")


def test_conditional_complete_racing_a_put(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    uid, parts = upload_parts(s3, bucket, "mp", [b"a" * (5 * 1024 * 1024), b"b"])
    slow = SlowPut(s3_cluster, bucket, "mp", b"plain" * 100)

    def complete() -> Any:
        return s3.complete_multipart_upload(
            Bucket=bucket, Key="mp", UploadId=uid,
            MultipartUpload={"Parts": parts}, IfNoneMatch="*",
        )  # fmt: skip

    with pytest.raises(ClientError) as exc:
        complete()
    assert _code(exc) == (409, "ConditionalRequestConflict")
    assert slow.finish() == 200
    with pytest.raises(ClientError) as exc:  # the upload stayed open: now the object is there
        complete()
    assert _code(exc) == (412, "PreconditionFailed")

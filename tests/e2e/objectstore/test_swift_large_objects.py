"""Large objects with unmodified python-swiftclient (`swift upload --segment-size`)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest
from swiftclient.client import Connection

from tests.e2e.objectstore.conftest import ADMIN_KEY, ADMIN_USER, StratusUp

MiB = 1024 * 1024


def swift(cmd: list[str], *args: str, cwd: Path | None = None) -> str:
    out = subprocess.run(
        [*cmd, *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )
    assert out.returncode == 0, f"swift {args} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


@pytest.fixture
def conn(stratus_up: StratusUp) -> Connection:
    return Connection(authurl=stratus_up.auth_url, user=ADMIN_USER, key=ADMIN_KEY, retries=0)


def upload_download(swift_cmd: list[str], tmp_path: Path, kind: str) -> tuple[str, bytes]:
    """Upload 3.5 MiB in 1 MiB segments as ``kind`` (slo, dlo), download it, compare."""
    data = os.urandom(3 * MiB + MiB // 2)
    name = f"{kind}.bin"
    (tmp_path / name).write_bytes(data)
    swift(
        swift_cmd, "upload", f"--use-{kind}", "--segment-size", str(MiB), "lo", name, cwd=tmp_path
    )
    out_dir = tmp_path / "down"
    out_dir.mkdir(exist_ok=True)
    swift(swift_cmd, "download", "lo", name, "-o", f"copy-{name}", cwd=out_dir)
    got = (out_dir / f"copy-{name}").read_bytes()
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
    return name, data


def test_dlo_upload_download_delete(swift_cmd: list[str], conn: Connection, tmp_path: Path) -> None:
    name, data = upload_download(swift_cmd, tmp_path, "dlo")
    head = conn.head_object("lo", name)
    assert int(head["content-length"]) == len(data)
    assert head["x-object-manifest"].startswith("lo_segments/dlo.bin/")
    _h, body = conn.get_object("lo", name, headers={"Range": f"bytes={MiB - 2}-{MiB + 1}"})
    assert body == data[MiB - 2 : MiB + 2]
    _, rows = conn.get_container("lo_segments", prefix=name)
    assert len(rows) == 4
    etag = hashlib.md5("".join(r["hash"] for r in rows).encode()).hexdigest()
    assert conn.head_object("lo", name)["etag"] == f'"{etag}"'
    swift(swift_cmd, "delete", "lo", name)
    assert conn.get_container("lo_segments", prefix=name)[1] == []


def test_slo_upload_download_delete(swift_cmd: list[str], conn: Connection, tmp_path: Path) -> None:
    name, data = upload_download(swift_cmd, tmp_path, "slo")
    headers = conn.head_object("lo", name)
    assert headers["x-static-large-object"] == "True"
    assert int(headers["content-length"]) == len(data)
    _, rows = conn.get_container("lo_segments", prefix=name)
    assert len(rows) == 4
    etag = hashlib.md5("".join(r["hash"] for r in rows).encode()).hexdigest()
    assert headers["etag"] == f'"{etag}"'
    _, listing = conn.get_container("lo", prefix=name)
    assert listing[0]["bytes"] == len(data) and listing[0]["slo_etag"] == f'"{etag}"'
    _, body = conn.get_object("lo", name, headers={"Range": f"bytes=-{MiB + 5}"})
    assert body == data[-(MiB + 5) :]
    _, manifest = conn.get_object("lo", name, query_string="multipart-manifest=get")
    assert isinstance(manifest, bytes)
    assert [e["bytes"] for e in json.loads(manifest)] == [MiB, MiB, MiB, MiB // 2]
    # `swift delete` of an SLO deletes its segments too (?multipart-manifest=delete).
    swift(swift_cmd, "delete", "lo", name)
    assert conn.get_container("lo_segments", prefix=name)[1] == []
    assert [r["name"] for r in conn.get_container("lo", prefix=name)[1]] == []

"""s3cmd against `stratus up` (path-style, SigV4)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.e2e.s3compat.conftest import S3Up
from tests.helpers.tools import need_tool


def test_mb_put_get_ls_del(s3_up: S3Up, tmp_path: Path) -> None:
    exe = need_tool("s3cmd", "s3cmd")
    host = s3_up.endpoint.removeprefix("http://")
    cfg = tmp_path / "s3cfg"
    cfg.write_text(
        "[default]\n"
        f"access_key = {s3_up.access}\n"
        f"secret_key = {s3_up.secret}\n"
        f"host_base = {host}\n"
        f"host_bucket = {host}\n"
        "use_https = False\n"
        "bucket_location = us-east-1\n"
    )

    def run(*args: str) -> str:
        proc = subprocess.run(
            [exe, "-c", str(cfg), *args], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, f"s3cmd {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    run("mb", "s3://e2e-s3cmd")
    src = tmp_path / "file.txt"
    src.write_bytes(b"from s3cmd\n" * 1000)
    run("put", str(src), "s3://e2e-s3cmd/dir/file.txt")
    assert "s3://e2e-s3cmd/dir/file.txt" in run("ls", "--recursive", "s3://e2e-s3cmd")
    got = tmp_path / "got.txt"
    run("get", "s3://e2e-s3cmd/dir/file.txt", str(got))
    assert got.read_bytes() == src.read_bytes()
    run("del", "s3://e2e-s3cmd/dir/file.txt")
    assert "file.txt" not in run("ls", "--recursive", "s3://e2e-s3cmd")
    run("rb", "s3://e2e-s3cmd")
